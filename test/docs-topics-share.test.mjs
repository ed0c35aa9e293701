// Runs the blocks of the "One connection per browser" section of docs/topics.md (kept verbatim in
// test/readme/topics-share-*.js) as they are meant to run: plain modules of a page, no build
// step, loading the built client from the server, in several Chromium tabs of one profile over
// HTTP/1.1, against the guide's topics server and a one-stream feed.
import t0, { test } from 'tap'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import sse from 'fastify-typed-sse'
import topics from './readme/topics-server.mjs'
import { launchBrowser, trackErrors, waitInPage } from './helpers/browser.mjs'
import { until } from './helpers/wait.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const block = (name) => readFileSync(join(root, 'test/readme', name), 'utf8')
const CLIENT = dirname(fileURLToPath(import.meta.resolve('fastify-typed-sse/client')))
const browser = await launchBrowser(t0)

test('the section shows the files this test runs', async (t) => {
  const guide = readFileSync(join(root, 'docs/topics.md'), 'utf8')
  const start = guide.indexOf('\n## One connection per browser\n')
  t.not(start, -1, 'docs/topics.md has the section')
  const end = guide.indexOf('\n## ', start + 1)
  const section = guide.slice(start, end === -1 ? undefined : end)
  for (const name of ['topics-share-feed.js', 'topics-share-page.js']) t.ok(section.includes('```js\n' + block(name) + '```'), `${name} is a block of the section`)
})

/** The guide's server, a one-stream feed, the client's two files, and a page per block. */
async function server (t) {
  const app = Fastify()
  await app.register(sse)
  app.decorateRequest('user', null)
  app.addHook('onRequest', async (request) => { request.user = { id: 'ann', admin: false } })
  let orders = 0
  app.decorate('orderStats', async () => ({ orders: ++orders, revenue: orders * 10.5 }))
  await app.register(topics)
  const feed = app.sse.stream('feed', { events: { tick: Type.Object({ n: Type.Integer() }) } })
  app.get('/feed', (request, reply) => reply.sse.subscribe(feed))
  const js = (reply, text) => reply.type('text/javascript; charset=utf-8').send(text)
  for (const file of ['client.js', 'client-share.js']) {
    app.get(`/vendor/fastify-typed-sse/${file}`, (request, reply) => js(reply, readFileSync(join(CLIENT, file))))
  }
  app.get('/page.js', (request, reply) => js(reply, block('topics-share-page.js')))
  app.get('/feed.js', (request, reply) => js(reply, block('topics-share-feed.js')))
  const html = (body, script) => `<!doctype html><meta charset="utf-8">${body}<script type="module" src="${script}"></script>`
  app.get('/page.html', (request, reply) => reply.type('text/html').send(html('<p id="orders"></p><pre id="bell"></pre>', '/page.js')))
  app.get('/feed.html', (request, reply) => reply.type('text/html').send(html('<pre id="ticks"></pre>', '/feed.js')))
  // The event streams the server holds: one socket each.
  const streams = new Set()
  app.server.on('request', (request) => {
    if (!/^\/(events|feed)(\?|$)/.test(request.url)) return
    streams.add(request.socket)
    request.socket.once('close', () => streams.delete(request.socket))
  })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const context = await browser.newContext()
  t.teardown(() => context.close())
  let holder = null
  context.on('request', (request) => { if (/\/(events|feed)\?/.test(request.url()) || request.url().endsWith('/feed')) holder = request.frame().page() })
  const base = `http://127.0.0.1:${app.server.address().port}`
  const tabs = async (path, count) => {
    const pages = []
    for (let i = 0; i < count; i++) {
      const page = trackErrors(await context.newPage())
      await page.goto(base + path)
      pages.push(page)
    }
    return pages
  }
  return { app, feed, context, streams, tabs, holder: () => holder }
}

if (browser !== null) {
  test('the topics page in three tabs: one connection, every tab shows both feeds, and goes on when the holding tab closes', async (t) => {
    const { app, streams, tabs, holder } = await server(t)
    const pages = await tabs('/page.html', 3)
    await until(() => app.sse.metrics().subscribers === 2 && streams.size === 1, 'one stream carrying both topics')
    await app.inject({ method: 'POST', url: '/orders', payload: { owner: 'ann' } })
    for (const page of pages) {
      await waitInPage(page, () => document.querySelector('#orders').textContent === '1' && document.querySelector('#bell').textContent === 'New order\n', undefined, 'the first order in both feeds')
    }
    const leader = holder()
    await leader.close({ runBeforeUnload: false })
    const rest = pages.filter((page) => page !== leader)
    await app.inject({ method: 'POST', url: '/orders', payload: { owner: 'ann' } })
    for (const page of rest) {
      await waitInPage(page, () => document.querySelector('#orders').textContent === '2' && document.querySelector('#bell').textContent === 'New order\nNew order\n', undefined, 'the second order, after the hand-over')
    }
    // The closing tab may still pass on an event while it goes: wait for the next holder's request.
    await until(() => holder() !== leader, 'another tab holds the stream')
    t.not(holder(), leader, 'another tab holds the stream')
    await until(() => streams.size === 1, 'one stream again')
    for (const page of pages) t.same(page.errors, [], 'no script errors')
  })

  test('the one-stream feed in three tabs: one connection, every tick in every tab, once', async (t) => {
    const { app, feed, streams, tabs } = await server(t)
    const pages = await tabs('/feed.html', 3)
    // The page starts live: publish once the stream is live and every tab has joined (a tab joins,
    // then asks for the lock: three holders or waiters).
    await until(() => streams.size === 1 && app.sse.metrics().subscribers === 1, 'one live stream')
    await until(async () => {
      const { held, pending } = await pages[0].evaluate(() => navigator.locks.query())
      return held.length + pending.length === 3
    }, 'every tab to join')
    const ids = []
    for (let n = 1; n <= 5; n++) ids.push((await feed.publish({ event: 'tick', data: { n } })).id)
    const expected = ids.map((id, i) => `${id} ${i + 1}\n`).join('')
    for (const page of pages) {
      await waitInPage(page, (text) => document.querySelector('#ticks').textContent.length >= text.length, expected, 'five ticks')
      t.equal(await page.textContent('#ticks'), expected, 'every tick once, in order')
    }
    t.equal(streams.size, 1, 'still one stream')
  })
}
