// Every page of the example app in a real Chromium, signed in: the pages of one browser share
// one event stream carrying every page's feeds (the dashboard and the bell), and after the
// server drops it every page resumes all its topics on that one stream, through the browser's
// own Last-Event-ID.
import t0, { test } from 'tap'
import { launchBrowser, screenshot, startApp, trackErrors, waitInPage } from './helpers/browser.mjs'
import { until } from './helpers/wait.mjs'

const browser = await launchBrowser(t0)
const VIEWPORT = { width: 1000, height: 700 }
const PAGES = ['/', '/dashboard.html', '/notifications.html', '/jobs.html', '/tokens.html']

if (browser !== null) {
  test('the pages share one event stream carrying their feeds and the bell, and resume them all after a drop', async (t) => {
    const { app, base, drop, post } = await startApp(t)
    const context = await browser.newContext({ viewport: VIEWPORT })
    t.teardown(() => context.close())
    // The event-stream requests each page made.
    const streams = new Map()
    context.on('request', (request) => {
      if (!String(request.headers().accept).includes('text/event-stream')) return
      const page = request.frame().page()
      streams.set(page, [...(streams.get(page) ?? []), request.url()])
    })
    const login = trackErrors(await context.newPage())
    await login.goto(base + '/notifications.html')
    await login.fill('#name', 'ann')
    await login.click('#login-form button')
    await waitInPage(login, () => document.body.dataset.user === 'ann', undefined, 'signed in')
    const [cookie] = await context.cookies()
    await login.close()

    const pages = []
    for (const path of PAGES) {
      const page = trackErrors(await context.newPage())
      await page.goto(base + path)
      await waitInPage(page, () => document.querySelector('#bell') !== null, undefined, `the bell on ${path}`)
      pages.push(page)
    }
    await until(() => app.sse.metrics().openStreams === 1 && app.sse.metrics().subscribers === 2,
      'one stream for the five pages: the bell and the dashboard', 15_000)

    const note = (text) => post('/api/notifications', { to: 'ann', text }, { cookie: `${cookie.name}=${cookie.value}` })
    await note('first')
    const { id } = await post('/api/dashboard/events', { event: 'metric', data: { name: 'rps', value: 310 } })
    for (const page of pages) await waitInPage(page, () => document.querySelector('#bell').dataset.count === '1', undefined, 'the first note in the bell')
    const dashboard = pages[1]
    await waitInPage(dashboard, () => document.querySelector('[data-metric="rps"]')?.dataset.value === '310', undefined, 'the metric on the dashboard')
    t.equal(await dashboard.getAttribute('#log li:last-child', 'data-id'), id, 'the log shows the dashboard\'s own position')
    t.equal(await dashboard.getAttribute('body', 'data-topics'), 'dashboard,bell')
    await waitInPage(pages[2], () => document.querySelectorAll('#notes li').length === 1, undefined, 'the note listed on the notifications page')

    // The server drops every stream; meanwhile both feeds move on.
    drop()
    await until(() => app.sse.metrics().subscribers === 0, 'every stream dropped')
    await note('while away')
    await post('/api/dashboard/events', { event: 'metric', data: { name: 'rps', value: 320 } })
    for (const page of pages) await waitInPage(page, () => document.querySelector('#bell').dataset.count === '2', undefined, 'the note sent while away')
    await waitInPage(dashboard, () => document.querySelector('[data-metric="rps"]')?.dataset.value === '320', undefined, 'the metric published while away')
    await until(() => app.sse.metrics().openStreams === 1, 'one stream again')
    t.equal(app.sse.metrics().resets.malformed + app.sse.metrics().resets.trimmed, 0, 'no reset')
    t.ok(app.sse.metrics().replays >= 2, 'both topics resumed from the store')

    const urls = [...streams.values()].flat()
    t.ok(urls.length >= 2 && urls.every((url) => new URL(url).pathname === '/api/events'), `the one stream, and its reconnect (${urls.length} requests)`)
    for (const [i, page] of pages.entries()) t.same(page.errors, [], `${PAGES[i]}: no script errors`)
    t.same(await pages[2].$$eval('#notes li', (items) => items.map((li) => li.dataset.text)), ['first', 'while away'], 'each note once, in order')
    await dashboard.click('#bell')
    await screenshot(t, dashboard, 'dashboard-with-bell')
  })
}
