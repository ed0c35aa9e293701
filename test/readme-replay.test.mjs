// docs/replay.md: every code block is a file under test/readme/, and each of them runs here.
import { test } from 'tap'
import { readFileSync, readdirSync } from 'node:fs'
import Fastify from 'fastify'
import sse from 'fastify-typed-sse'
import { decodeEvents, injectEvents } from 'fastify-typed-sse/testing'
import { EventSource } from 'undici'
import { codeBlocks, docText } from './helpers/readme.mjs'
import { until } from './helpers/wait.mjs'

const dir = new URL('./readme/', import.meta.url)
const doc = docText('docs/replay.md')

test('every code block of the guide is a file under test/readme/', async (t) => {
  const blocks = codeBlocks(doc).map((b) => b.body)
  const files = readdirSync(dir).filter((f) => f.startsWith('replay-')).map((f) => readFileSync(new URL(f, dir), 'utf8'))
  t.ok(blocks.length >= 5)
  for (const block of blocks) t.ok(files.includes(block), `block found verbatim: ${block.split('\n')[0]}`)
})

test('replay-orders: publish, then a reconnect with its id gets what it missed', async (t) => {
  const { app } = await import('./readme/replay-orders.mjs')
  t.teardown(() => app.close())
  const first = await app.inject({ method: 'POST', url: '/orders', payload: { id: 1, total: 9.5 } })
  await app.inject({ method: 'POST', url: '/orders', payload: { id: 2, total: 3 } })
  const bad = await app.inject({ method: 'POST', url: '/orders', payload: { id: 'x' } })
  t.equal(bad.statusCode, 500, 'an invalid order is refused by the schema')
  const res = await injectEvents(app, { url: '/orders/stream', headers: { 'last-event-id': first.json().id } }, { count: 1 })
  t.same(res.events.map((e) => JSON.parse(e.data)), [{ id: 2, total: 3 }])
})

test('the reset notice example matches what the server sends', async (t) => {
  const [example] = decodeEvents(readFileSync(new URL('replay-reset-notice.txt', dir), 'utf8') + '\n')
  const app = Fastify()
  await app.register(sse)
  t.teardown(() => app.close())
  const s = app.sse.stream('s', { replay: { maxEvents: 2 } })
  app.get('/s', (request, reply) => reply.sse.subscribe(s))
  const events = []
  for (let i = 0; i < 5; i++) events.push(await s.publish({ data: i }))
  const res = await injectEvents(app, { url: '/s', headers: { 'last-event-id': events[0].id } }, { count: 1 })
  const [notice] = res.events
  t.equal(notice.type, example.type)
  t.same(Object.keys(JSON.parse(notice.data)), Object.keys(JSON.parse(example.data)))
  t.same(JSON.parse(notice.data), { reason: 'trimmed', lastEventId: events[0].id, head: events[4].id })
  t.equal(notice.lastEventId, events[4].id)
  t.equal(JSON.parse(example.data).head, example.lastEventId, 'in the example too, the id is the head')
  t.match(res.body, /event: reset\nid: [^\n]+\ndata: \{"reason"/, 'same field order as the example')
})

test('replay-client: reload on reset, orders otherwise (real EventSource)', async (t) => {
  const { watchOrders } = await import('./readme/replay-client.mjs')
  globalThis.EventSource = EventSource
  t.teardown(() => { delete globalThis.EventSource })
  const app = Fastify()
  await app.register(sse)
  t.teardown(() => app.close())
  const orders = app.sse.stream('orders', { replay: { maxEvents: 1 } })
  app.get('/orders/stream', (request, reply) => reply.sse.subscribe(orders))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${app.server.address().port}/orders/stream`
  const got = []
  const reloads = []
  const source = watchOrders(`${base}?lastEventId=stale`, { onOrder: (o) => got.push(o), reload: (r) => reloads.push(r) })
  t.teardown(() => source.close())
  await until(() => reloads.length > 0, 'the reset to reload')
  t.same(reloads, ['malformed'])
  await orders.publish({ event: 'order', data: { id: 7 } })
  await until(() => got.length > 0, 'the live order')
  t.same(got, [{ id: 7 }])
})

test('replay-inbox: per-user keys, filter on replay and live, onReset snapshot', async (t) => {
  const { default: inbox } = await import('./readme/replay-inbox.mjs')
  const app = Fastify()
  await app.register(sse)
  t.teardown(() => app.close())
  app.decorate('loadNotes', async (user) => [{ text: `snapshot for ${user}`, urgent: true }])
  // Signed-in senders may write to anyone but 'locked'.
  app.decorate('mayWriteTo', async (sender, user) => sender.id !== undefined && user !== 'locked')
  app.decorateRequest('user', null)
  app.addHook('onRequest', async (request) => { request.user = { id: request.headers['x-user'] } })
  await app.register(inbox)
  const post = (user, note) => app.inject({ method: 'POST', url: `/inbox/${user}`, headers: { 'x-user': 'sender' }, payload: note })
  await post('ann', { text: 'a1', urgent: false })
  await post('ann', { text: 'a2', urgent: true })
  await post('bob', { text: 'b1', urgent: true })
  const refused = await app.inject({ method: 'POST', url: '/inbox/locked', headers: { 'x-user': 'ann' }, payload: { text: 'no', urgent: true } })
  t.equal(refused.statusCode, 403, 'a sender without the right to that inbox is refused')
  t.match(await app.sse.store.head('inbox:locked'), /:0$/, 'and nothing is stored')
  const head = await app.sse.store.head('inbox:ann')
  const cursor = head.replace(/:\d+$/, ':0')
  const urgent = await injectEvents(app, { url: '/inbox/stream?urgent=only', headers: { 'x-user': 'ann', 'last-event-id': cursor } }, { count: 1 })
  t.same(urgent.events.map((e) => JSON.parse(e.data).text), ['a2'], 'filtered replay, only ann\'s')
  const reset = await injectEvents(app, { url: '/inbox/stream', headers: { 'x-user': 'bob', 'last-event-id': 'stale' } }, { count: 2 })
  t.same(reset.events.map((e) => e.type), ['reset', 'note'])
  t.equal(JSON.parse(reset.events[1].data).text, 'snapshot for bob')
})

test('replay-store: custom retention and the metrics route', async (t) => {
  const { app } = await import('./readme/replay-store.mjs')
  app.get('/s', (request, reply) => reply.sse.subscribe('s'))
  t.teardown(() => app.close())
  await app.sse.publish('s', { data: 'x' })
  const metrics = (await app.inject('/metrics/sse')).json()
  t.equal(metrics.published, 1)
  t.same(Object.keys(metrics.resets).sort(), ['ahead', 'epoch', 'limit', 'lost', 'malformed', 'trimmed'])
})
