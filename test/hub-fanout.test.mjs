// Fan-out through the hub over real sockets: one store subscription per key whatever the
// number of clients, the same bytes to everyone, filters on replay and live alike, a client
// that stops reading evicted without delaying the others, and nothing left behind.
import { test } from 'tap'
import { once } from 'node:events'
import net from 'node:net'
import { memoryStore } from 'fastify-typed-sse'
import { replayApp, spyStore, sseClient } from './helpers/replay.mjs'
import { until } from './helpers/wait.mjs'

async function listen (t, options) {
  const ctx = await replayApp(t, options)
  await ctx.app.listen({ port: 0, host: '127.0.0.1' })
  return { ...ctx, port: ctx.app.server.address().port }
}

test('one publish: one append, one store subscription, every client gets the same frame', async (t) => {
  const store = spyStore()
  const { app, s, port } = await listen(t, { store })
  const clients = await Promise.all(Array.from({ length: 20 }, () => sseClient(port)))
  await until(() => app.sse.metrics().subscribers === 20, '20 subscribers')
  t.equal(store.calls.subscribe, 1, 'one store subscription for the key')
  const event = await s.publish({ event: 'tick', data: { n: 1 } })
  await Promise.all(clients.map((c) => c.until((x) => x.events.length === 1)))
  t.equal(store.calls.append, 1)
  for (const c of clients) t.same(c.events[0], { type: 'tick', data: '{"n":1}', lastEventId: event.id })
  for (const c of clients) c.close()
})

test('clients leaving release the hub channel and the store subscription', async (t) => {
  const store = spyStore()
  const { app, port } = await listen(t, { store })
  const clients = await Promise.all(Array.from({ length: 5 }, () => sseClient(port)))
  await until(() => app.sse.metrics().subscribers === 5, 'subscribers')
  t.equal(app.sse.metrics().channels, 1)
  t.equal(store.calls.liveOpen, 1)
  for (const c of clients) c.close()
  await until(() => app.sse.metrics().openStreams === 0, 'streams closed')
  t.same([app.sse.metrics().subscribers, app.sse.metrics().channels, store.calls.liveOpen, store.inner.stats.subscriptions], [0, 0, 0, 0])
})

test('a filter applies to replayed and live events, and filtered events still move the cursor', async (t) => {
  const { app, s, port } = await listen(t, { subscribe: { filter: (e) => e.data.user === 'me' } })
  const a = await s.publish({ event: 'note', data: { user: 'me', n: 1 } })
  await s.publish({ event: 'note', data: { user: 'other', n: 2 } })
  await s.publish({ event: 'note', data: { user: 'me', n: 3 } })
  const last = await s.publish({ event: 'note', data: { user: 'other', n: 4 } })
  const client = await sseClient(port, '/s', a.id)
  await until(() => client.lastEventId === last.id, 'the replay to move the cursor past the filtered tail')
  t.same(client.events.map((e) => JSON.parse(e.data).n), [3], 'replay: only mine')
  await s.publish({ event: 'note', data: { user: 'other', n: 5 } })
  const mine = await s.publish({ event: 'note', data: { user: 'me', n: 6 } })
  await client.until((c) => c.events.length === 2)
  t.same(client.events.map((e) => JSON.parse(e.data).n), [3, 6], 'live: only mine')
  t.equal(client.lastEventId, mine.id)
  const other = await s.publish({ event: 'note', data: { user: 'other', n: 7 } })
  await until(() => client.lastEventId === other.id, 'the id-only block of a filtered live event')
  t.equal(client.events.length, 2, 'no event fired for it')
  t.equal(app.sse.metrics().resets.lost, 0, 'filtering never looks like a hole')
  client.close()
})

test('a filter that throws drops that event for that client only', async (t) => {
  const { s, port } = await listen(t, { subscribe: { filter: (e) => { if (e.data.boom) throw new Error('bad filter'); return true } } })
  const client = await sseClient(port)
  await s.publish({ data: { boom: true } })
  await s.publish({ data: { n: 2 } })
  await client.until((c) => c.events.length === 1)
  t.same(client.events.map((e) => e.data), ['{"n":2}'])
  client.close()
})

test('a client that stops reading is evicted past maxBufferedBytes; the others get everything', async (t) => {
  const { app, s, port } = await listen(t, { plugin: { maxBufferedBytes: 64 * 1024 } })
  const healthy = await sseClient(port)
  // A raw socket that sends the request and never reads: the kernel buffers fill, then ours.
  const slow = net.connect(port, '127.0.0.1')
  slow.write('GET /s HTTP/1.1\r\nHost: x\r\n\r\n')
  await once(slow, 'connect')
  slow.pause()
  await until(() => app.sse.metrics().subscribers === 2, 'both subscribed')
  const big = 'x'.repeat(16 * 1024)
  // Paced by the healthy client, so only the slow one falls behind; bounded at ~48 MB.
  let n = 0
  while (app.sse.metrics().evictions === 0 && n < 3000) {
    await s.publish({ data: { i: n, big } })
    n++
    await healthy.until((c) => c.events.length === n)
  }
  t.equal(app.sse.metrics().evictions, 1, `the slow client was evicted (after ${n} events)`)
  t.same(healthy.events.map((e) => JSON.parse(e.data).i), Array.from({ length: n }, (_, i) => i), 'the healthy client got every event, in order')
  t.equal(app.sse.metrics().subscribers, 1)
  await s.publish({ data: { i: n, big } })
  await healthy.until((c) => c.events.length === n + 1)
  t.pass('and keeps getting them')
  slow.destroy()
  healthy.close()
})

test('the evicted client resumes from its last id on reconnect', async (t) => {
  const { app, s, port } = await listen(t, { plugin: { maxBufferedBytes: 32 * 1024 }, stream: { replay: { maxEvents: 10_000, maxBytes: 256 * 1024 * 1024, maxReplay: 10_000 } } })
  const first = await sseClient(port)
  first.socket.pause()
  for (let i = 0; i < 3000 && app.sse.metrics().evictions === 0; i++) {
    await s.publish({ data: { i, pad: 'y'.repeat(16 * 1024) } })
    await new Promise((resolve) => setImmediate(resolve))
  }
  await until(() => app.sse.metrics().evictions === 1, 'eviction')
  first.socket.resume()
  await until(() => first.ended, 'the evicted stream to end')
  const again = await sseClient(port, '/s', first.lastEventId)
  const head = await app.sse.store.head('s')
  await until(() => again.lastEventId === head, 'the reconnect to catch up to the head')
  t.equal(again.events.filter((e) => e.type === 'reset').length, 0, 'resumed, not reset')
  const offsets = [...first.events, ...again.events].map((e) => Number(e.lastEventId.split(':')[1]))
  t.same(offsets, Array.from({ length: offsets.length }, (_, i) => i + 1), 'every event exactly once across the two connections')
  again.close()
})

test('publish validates before storing: refused items store nothing', async (t) => {
  const store = spyStore(memoryStore())
  const { app, s } = await replayApp(t, { store })
  const cases = [
    [{ data: 1, id: 5 }, 'FST_SSE_REPLAY_ID'],
    [{ data: 1, retry: 5 }, 'FST_SSE_INVALID_EVENT'],
    [{ event: 'a' }, 'FST_SSE_INVALID_EVENT'],
    [{ event: 'a\nb', data: 1 }, 'FST_SSE_INVALID_EVENT'],
    [{ data: 10n }, 'FST_SSE_SERIALIZE'],
    [null, 'FST_SSE_INVALID_EVENT']
  ]
  for (const [item, code] of cases) await t.rejects(s.publish(item), { code }, code)
  await t.rejects(app.sse.publish('s', { data: 1 }, { key: 'x' }), { code: 'FST_SSE_INVALID_KEY' })
  t.equal(store.calls.append, 0)
  t.equal(app.sse.metrics().publishFailures, cases.length + 1)
  const ok = await app.sse.publish('s', { data: 'plain text' })
  t.match(ok.id, /:1$/, 'the stream is intact after the refusals')
})

test('a store that fails on append rejects publish and keeps serving', async (t) => {
  const store = spyStore(memoryStore())
  const { app, s } = await replayApp(t, { store })
  store.failing.add('append')
  await t.rejects(s.publish({ data: 1 }), /append failed/)
  store.failing.clear()
  await s.publish({ data: 2 })
  t.equal(app.sse.metrics().published, 1)
})

test('keyed streams derive the key from the request; publish names it', async (t) => {
  const { default: Fastify } = await import('fastify')
  const { default: sse } = await import('fastify-typed-sse')
  const app = Fastify()
  await app.register(sse)
  t.teardown(() => app.close())
  const inbox = app.sse.stream('inbox', { key: (request) => request.headers['x-user'] })
  app.get('/inbox', (request, reply) => reply.sse.subscribe(inbox))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address()
  const { default: http } = await import('node:http')
  const got = { a: [], b: [] }
  const open = (user) => new Promise((resolve) => {
    http.get({ port, host: '127.0.0.1', path: '/inbox', headers: { 'x-user': user }, agent: false }, (res) => {
      res.setEncoding('utf8')
      res.on('data', (chunk) => got[user].push(chunk))
      resolve(res)
    })
  })
  const [ra, rb] = await Promise.all([open('a'), open('b')])
  await until(() => app.sse.metrics().subscribers === 2, 'two subscribers')
  await inbox.publish({ data: 'for a' }, { key: 'a' })
  await t.rejects(inbox.publish({ data: 'nobody' }), { code: 'FST_SSE_INVALID_KEY' })
  await until(() => got.a.join('').includes('for a'), 'a to receive')
  t.notMatch(got.b.join(''), /for a/)
  t.equal(app.sse.metrics().channels, 2)
  ra.destroy()
  rb.destroy()
})

test('app.close() ends subscribers and closes the store it created', async (t) => {
  const { default: Fastify } = await import('fastify')
  const { default: sse } = await import('fastify-typed-sse')
  const app = Fastify()
  await app.register(sse)
  app.get('/s', (request, reply) => reply.sse.subscribe('s'))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const client = await sseClient(app.server.address().port)
  await until(() => app.sse.metrics().subscribers === 1, 'subscriber')
  const store = app.sse.store
  await app.close()
  t.ok(client.ended || (await until(() => client.ended, 'client end'), true))
  await t.rejects(store.append('s', { data: 'x' }), { code: 'FST_SSE_STORE_CLOSED' })

  const given = memoryStore()
  const other = Fastify()
  await other.register(sse, { store: given })
  await other.close()
  await given.append('s', { data: 'x' })
  t.pass('a store passed in stays open for its owner')
  await given.close()
})
