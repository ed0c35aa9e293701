// The connection algorithm against every kind of cursor a client can send: always a 200 event
// stream, exactly the missed events or a reset notice that moves the client to the head, and
// never a store read for a cursor that is not even well-formed.
import { test } from 'tap'
import { injectEvents } from 'fastify-typed-sse/testing'
import Fastify from 'fastify'
import sse, { memoryStore } from 'fastify-typed-sse'
import { replayApp, spyStore, epochOf } from './helpers/replay.mjs'
import { until } from './helpers/wait.mjs'

async function published (s, n) {
  const out = []
  for (let i = 1; i <= n; i++) out.push(await s.publish({ event: 'tick', data: { i } }))
  return out
}

const connect = (app, cursor, count = 1, via = 'header') => injectEvents(app, {
  url: via === 'query' && cursor !== undefined ? `/s?lastEventId=${encodeURIComponent(cursor)}` : '/s',
  headers: via === 'header' && cursor !== undefined ? { 'last-event-id': cursor } : {}
}, { count })

test('no cursor: an id-only block carries the head, then live events', async (t) => {
  const store = spyStore()
  const { app, s } = await replayApp(t, { store })
  const [, second] = await published(s, 2)
  const pending = connect(app, undefined, 1)
  await until(() => app.sse.metrics().subscribers === 1, 'the client to be live')
  await s.publish({ event: 'tick', data: { i: 3 } })
  const live = await pending
  t.equal(live.statusCode, 200)
  t.match(live.body, new RegExp(`^:\\n\\nid: ${second.id}\\n\\n`), 'id-only block with the head right after the opening frame')
  t.same(live.events.map((e) => e.data), ['{"i":3}'])
  t.equal(store.calls.readAfter, 0, 'nothing to read without a cursor')
})

test('a cursor in the retained range replays exactly what followed it, in order', async (t) => {
  const { app, s } = await replayApp(t)
  const events = await published(s, 5)
  const res = await connect(app, events[1].id, 3)
  t.same(res.events.map((e) => e.lastEventId), events.slice(2).map((e) => e.id))
  t.same(res.events.map((e) => JSON.parse(e.data).i), [3, 4, 5])
  t.equal(app.sse.metrics().replays, 1)
  t.equal(app.sse.metrics().replayedEvents, 3)
})

test('the query parameter works like the header (for polyfills and first connects)', async (t) => {
  const { app, s } = await replayApp(t)
  const events = await published(s, 3)
  const res = await connect(app, events[0].id, 2, 'query')
  t.same(res.events.map((e) => JSON.parse(e.data).i), [2, 3])
})

test('a cursor at the head gets nothing until the next event', async (t) => {
  const { app, s } = await replayApp(t)
  const events = await published(s, 2)
  const pending = connect(app, events[1].id, 1)
  await until(() => app.sse.metrics().subscribers === 1, 'the client to be live')
  await s.publish({ event: 'tick', data: { i: 3 } })
  const res = await pending
  t.same(res.events.map((e) => JSON.parse(e.data).i), [3])
  t.notMatch(res.body, /event: reset/)
})

const resetOf = (res) => {
  const notice = res.events[0]
  return { type: notice.type, id: notice.lastEventId, ...JSON.parse(notice.data) }
}

test('malformed cursors: a reset notice, status 200, and no store read', async (t) => {
  const cases = [
    ['garbage', 'header', 'garbage'],
    ['short epoch', 'header', 'abc:1'],
    ['leading zero', 'header', 'abcdefgh:01'],
    ['17-digit offset', 'header', 'abcdefgh:12345678901234567'],
    ['path-like', 'header', '../../etc:1'],
    ['8 KB', 'header', 'a'.repeat(8192)],
    ['CR LF', 'query', 'abcdefgh:1\r\ndata: injected'],
    ['NUL', 'query', 'abcdefgh:1\u0000'],
    ['non-UTF-8 bytes', 'header', Buffer.from([0xff, 0xfe, 0x3a, 0x31]).toString('latin1')]
  ]
  for (const [name, via, cursor] of cases) {
    const store = spyStore()
    const { app, s } = await replayApp(t, { store })
    await published(s, 2)
    const head = await store.inner.head('s')
    const res = await connect(app, cursor, 1, via)
    t.equal(res.statusCode, 200, `${name}: 200`)
    const notice = resetOf(res)
    t.equal(notice.type, 'reset', `${name}: reset event`)
    t.equal(notice.reason, 'malformed', `${name}: reason`)
    t.equal(notice.id, head, `${name}: the notice moves the client to the head`)
    t.equal(notice.head, head)
    t.equal(store.calls.readAfter, 0, `${name}: the store was never asked about it`)
    t.notMatch(res.body, /\ndata: injected/, `${name}: nothing injected`)
    t.equal(app.sse.metrics().resets.malformed, 1)
  }
})

test('well-formed cursors the store cannot serve: epoch, trimmed (first − 2), ahead, limit', async (t) => {
  const { app, s } = await replayApp(t, { stream: { replay: { maxEvents: 5, maxReplay: 3 } } })
  const events = await published(s, 8) // 4..8 retained
  const epoch = epochOf(events[0].id)
  const head = events[7].id
  const cases = [
    ['epoch', 'zzzzzzzz:3'],
    ['trimmed', `${epoch}:2`],
    ['ahead', `${epoch}:9`],
    ['limit', `${epoch}:4`] // 4 events behind, maxReplay 3
  ]
  for (const [reason, cursor] of cases) {
    const res = await connect(app, cursor, 1)
    t.equal(res.statusCode, 200)
    t.same(resetOf(res), { type: 'reset', id: head, reason, lastEventId: cursor, head }, reason)
  }
  const edge = await connect(app, `${epoch}:5`, 3)
  t.same(edge.events.map((e) => e.lastEventId), events.slice(5).map((e) => e.id), 'exactly maxReplay behind is still replayed')
  t.same(app.sse.metrics().resets, { malformed: 0, epoch: 1, trimmed: 1, ahead: 1, limit: 1, lost: 0 })
})

test('the trim boundary: first − 1 replays, first − 2 resets', async (t) => {
  const { app, s } = await replayApp(t, { stream: { replay: { maxEvents: 3 } } })
  const events = await published(s, 6) // 4..6 retained, first = 4
  const epoch = epochOf(events[0].id)
  const replayed = await connect(app, `${epoch}:3`, 3)
  t.same(replayed.events.map((e) => JSON.parse(e.data).i), [4, 5, 6])
  const reset = await connect(app, `${epoch}:2`, 1)
  t.equal(resetOf(reset).reason, 'trimmed')
})

test('onReset runs after the notice and before live events; its snapshot is validated and id-free', async (t) => {
  const seen = []
  let entered
  const inHook = new Promise((resolve) => { entered = resolve })
  let leave
  const released = new Promise((resolve) => { leave = resolve })
  const { app, s } = await replayApp(t, {
    subscribe: {
      onReset: async ({ reason, lastEventId, head, send, request }) => {
        seen.push({ reason, lastEventId, head, url: request.url })
        t.throws(() => send({ event: 'snapshot', data: { all: true }, id: 'x' }), { code: 'FST_SSE_REPLAY_ID' })
        entered()
        await released
        send({ event: 'snapshot', data: { all: true } })
      }
    }
  })
  await published(s, 1)
  const pending = connect(app, 'zzzzzzzz:1', 3)
  await inHook
  await s.publish({ event: 'tick', data: { i: 2 } }) // lands while onReset runs
  leave()
  const res = await pending
  t.same(res.events.map((e) => e.type), ['reset', 'snapshot', 'tick'])
  t.equal(res.events[1].lastEventId, res.events[0].lastEventId, 'the snapshot carries no id of its own')
  t.equal(JSON.parse(res.events[2].data).i, 2, 'the event published meanwhile follows, once')
  t.equal(seen[0].reason, 'epoch')
  t.equal(seen[0].lastEventId, 'zzzzzzzz:1')
})

test('a configured reset event name', async (t) => {
  const { app } = await replayApp(t, { stream: { resetEvent: 'resync' } })
  const res = await connect(app, 'nonsense', 1)
  t.equal(res.events[0].type, 'resync')
})

test('a store that fails: the client still gets a 200 stream that ends (so it retries), the process lives on', async (t) => {
  for (const method of ['subscribe', 'head']) {
    const store = spyStore(memoryStore())
    const { app, s } = await replayApp(t, { store })
    const [event] = await published(s, 1)
    store.failing.add(method)
    const res = await injectEvents(app, { url: '/s', headers: { 'last-event-id': method === 'head' ? 'bad' : event.id } })
    t.equal(res.statusCode, 200, `${method}: 200`)
    t.same(res.events, [], `${method}: no event, the stream ended`)
    t.equal(app.sse.metrics().storeErrors, 1, `${method}: counted`)
    t.equal(app.sse.metrics().subscribers, 0, `${method}: nothing left attached`)
    store.failing.clear()
    const again = await injectEvents(app, { url: '/s', headers: { 'last-event-id': event.id } }, { count: 1, timeoutMs: 300 }).catch((err) => err)
    t.match(again.message, /0 of 1 events/, `${method}: the next attempt is served normally (and waits for live events)`)
  }
})

test('a store that answers a malformed head: a coded error in the log, the stream ends, the process lives on', async (t) => {
  const logged = []
  const store = spyStore(memoryStore())
  store.head = async () => 'not an id'
  const app = Fastify({ logger: { level: 'error', stream: { write: (line) => logged.push(JSON.parse(line)) } } })
  await app.register(sse, { store })
  const s = app.sse.stream('s')
  app.get('/s', (request, reply) => reply.sse.subscribe(s))
  t.teardown(() => app.close())
  const res = await injectEvents(app, { url: '/s' })
  t.equal(res.statusCode, 200)
  t.same(res.events, [], 'no event, the stream ended')
  t.equal(app.sse.metrics().storeErrors, 1, 'counted as a store error')
  const entry = logged.find((line) => line.err?.code === 'FST_SSE_STORE_MALFORMED')
  t.ok(entry, 'logged with its code')
  t.match(entry?.err.message, 'returned "not an id", which is not an event id')
})

test('a replay read that fails ends in a reset notice, not in a stream that ends and is retried', async (t) => {
  const store = spyStore(memoryStore())
  const { app, s } = await replayApp(t, { store })
  const [event] = await published(s, 2)
  store.failing.add('readAfter')
  const res = await injectEvents(app, { url: '/s', headers: { 'last-event-id': event.id } }, { count: 1 })
  t.equal(res.statusCode, 200)
  t.equal(res.events[0].type, 'reset')
  t.same(JSON.parse(res.events[0].data), { reason: 'lost', lastEventId: event.id, head: res.events[0].lastEventId })
  t.equal(app.sse.metrics().storeErrors, 1, 'counted as a store error')
  t.equal(app.sse.metrics().resets.lost, 1, 'and as a reset')
})

test('subscribe() mistakes are HTTP errors before any byte is sent', async (t) => {
  const app = Fastify()
  await app.register(sse)
  t.teardown(() => app.close())
  app.sse.stream('s')
  app.get('/bad-filter', (request, reply) => reply.sse.subscribe('s', { filter: 5 }))
  const keyed = app.sse.stream('k', { key: () => 42 })
  app.get('/bad-key', (request, reply) => reply.sse.subscribe(keyed))
  app.get('/bypass', (request, reply) => reply.sse.subscribe('k:1'))
  for (const [url, code] of [['/bad-filter', 'FST_SSE_INVALID_SUBSCRIBE_OPTION'], ['/bad-key', 'FST_SSE_INVALID_KEY'], ['/bypass', 'FST_SSE_INVALID_KEY']]) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 500, url)
    t.equal(res.json().code, code, url)
  }
})
