// Replay under slow readers and far-behind clients, on both stores: the queue in front of a
// client stays within maxBufferedBytes (plus one event) while it resumes, the history is read
// in pages as the socket drains, and a client without a cursor gets every event published
// after its request was accepted.
import t0, { test } from 'tap'
import Fastify from 'fastify'
import sse, { memoryStore } from 'fastify-typed-sse'
import { decodeEvents } from 'fastify-typed-sse/testing'
import { bodyOf, listen, rawGet } from './helpers/app.mjs'
import { failOnEscapes } from './helpers/escapes.mjs'
import { requireRedisServer, startRedis, storeOn } from './helpers/redis-server.mjs'
import { sseClient, spyStore } from './helpers/replay.mjs'
import { until } from './helpers/wait.mjs'

const stores = [{ name: 'memory', make: async () => memoryStore({ maxBytes: 64 * 1024 * 1024, maxTotalBytes: 256 * 1024 * 1024 }) }]
if (requireRedisServer(t0)) {
  const redis = await startRedis()
  t0.teardown(() => redis.stop())
  stores.push({ name: 'redis', make: async (t) => (await storeOn(t, 'ioredis', redis.port)).store })
}

/** An app whose route records, per connection, the largest queue the plugin left in front of the client. */
async function boundedApp (t, store, plugin) {
  const app = Fastify()
  await app.register(sse, { store, ...plugin })
  const s = app.sse.stream('s', { replay: { maxReplay: 5000 } })
  const peaks = []
  app.get('/s', (request, reply) => {
    const raw = reply.raw
    const write = raw.write
    const record = { peak: 0, raw }
    peaks.push(record)
    raw.write = function (...args) {
      const ok = write.apply(this, args)
      if (raw.writableLength > record.peak) record.peak = raw.writableLength
      return ok
    }
    return reply.sse.subscribe(s)
  })
  t.teardown(() => app.close())
  return { app, s, peaks, port: await listen(app) }
}

for (const { name, make } of stores) {
  test(`${name}: clients resuming from far behind that do not read hold at most maxBufferedBytes plus one event each`, async (t) => {
    failOnEscapes(t)
    const maxBufferedBytes = 256 * 1024
    const store = await make(t)
    const { app, s, peaks, port } = await boundedApp(t, store, { maxBufferedBytes, stallTimeoutMs: false, heartbeatMs: false })
    const data = 'x'.repeat(16 * 1024)
    const first = await s.publish({ data: 'start' })
    for (let i = 1; i <= 1000; i++) await s.publish({ data: `${i}:${data}` })
    const frame = `id: ${first.id}\ndata: 1000:${data}\n\n`.length
    const clients = []
    for (let i = 0; i < 10; i++) {
      const client = rawGet(port, '/s', { 'last-event-id': first.id })
      client.socket.pause()
      clients.push(client)
    }
    await until(() => peaks.length === 10 && peaks.every((p) => p.raw.writableLength >= maxBufferedBytes), 'every queue to fill up to the bound', 20_000)
    const worst = Math.max(...peaks.map((p) => p.peak))
    t.ok(worst <= maxBufferedBytes + frame, `largest queue ${worst} bytes <= ${maxBufferedBytes} + one event (${frame})`)
    t.equal(app.sse.metrics().evictions, 0, 'nobody evicted')
    // Reading again, every client gets the whole history, in order, once.
    for (const client of clients) client.socket.resume()
    await until(() => clients.every((c) => c.text.includes('data: 1000:')), 'every client to get the last event', 30_000)
    for (const client of clients) {
      const events = decodeEvents(bodyOf(client.text))
      t.equal(events.length, 1000)
      t.ok(events.every((e, i) => e.data.startsWith(`${i + 1}:`)), 'in order, each once')
      client.socket.destroy()
    }
  })

  test(`${name}: a handler that publishes right after subscribe() without awaiting it loses nothing`, async (t) => {
    failOnEscapes(t)
    const store = await make(t)
    const app = Fastify()
    await app.register(sse, { store })
    const s = app.sse.stream('fresh', { key: (request) => request.query.k })
    app.get('/s', (request, reply) => {
      const live = reply.sse.subscribe(s)
      for (let i = 1; i <= 3; i++) s.publish({ data: i }, { key: request.query.k }).catch((err) => t.fail(err))
      return live
    })
    t.teardown(() => app.close())
    const port = await listen(app)
    for (let round = 0; round < 5; round++) {
      const client = await sseClient(port, `/s?k=h${round}`)
      await client.until((c) => c.events.length >= 3)
      t.same(client.events.map((e) => e.data), ['1', '2', '3'], `round ${round}: all three, in order`)
      client.close()
    }
  })

  test(`${name}: a client that publishes once the stream is open gets every event, on a fresh stream`, async (t) => {
    failOnEscapes(t)
    const store = await make(t)
    const app = Fastify()
    await app.register(sse, { store })
    const s = app.sse.stream('open', { key: (request) => request.query.k })
    app.get('/s', (request, reply) => reply.sse.subscribe(s))
    t.teardown(() => app.close())
    const port = await listen(app)
    for (let round = 0; round < 5; round++) {
      const key = `fresh-${round}`
      const client = await sseClient(port, `/s?k=${key}`)
      // The response headers arrived (EventSource's `open`): publish at once.
      await Promise.all(Array.from({ length: 20 }, (_, i) => s.publish({ data: i + 1 }, { key })))
      await client.until((c) => c.events.length >= 20, 5000)
      t.same(client.events.map((e) => Number(e.data)).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1), `round ${round}: all 20`)
      t.equal(new Set(client.events.map((e) => e.lastEventId)).size, 20, 'each once')
      client.close()
    }
  })
}

test('a connection still being positioned is not counted as a subscriber', async (t) => {
  failOnEscapes(t)
  const store = spyStore(memoryStore())
  let release
  const gate = new Promise((resolve) => { release = resolve })
  const subscribe = store.subscribe
  store.subscribe = async (...args) => { await gate; return subscribe(...args) }
  const app = Fastify()
  await app.register(sse, { store })
  const s = app.sse.stream('s')
  app.get('/s', (request, reply) => reply.sse.subscribe(s))
  t.teardown(() => app.close())
  const port = await listen(app)
  const client = await sseClient(port, '/s')
  await until(() => app.sse.metrics().openStreams === 1, 'the stream to open')
  t.equal(app.sse.metrics().subscribers, 0, 'not live yet: not counted')
  release()
  await until(() => app.sse.metrics().subscribers === 1, 'the subscriber to go live')
  await s.publish({ data: 'x' })
  await client.until((c) => c.events.length === 1)
  client.close()
  await until(() => app.sse.metrics().subscribers === 0, 'the subscriber to be gone')
})

if (stores.length > 1) {
  test('redis, defaults: a client 1,000 events of 64 KiB behind resumes (reads paged and bounded in bytes)', async (t) => {
    failOnEscapes(t)
    const store = await stores[1].make(t)
    const app = Fastify()
    await app.register(sse, { store })
    const s = app.sse.stream('big')
    app.get('/s', (request, reply) => reply.sse.subscribe(s))
    t.teardown(() => app.close())
    const port = await listen(app)
    const data = 'y'.repeat(64 * 1024)
    const first = await s.publish({ data: 'start' })
    for (let i = 1; i <= 1000; i++) await s.publish({ data: `${i}:${data}` })
    const page = await store.readAfter('big', first.id)
    const bytes = page.events.reduce((sum, e) => sum + e.data.length, 0)
    t.ok(page.status === 'ok' && !page.complete && bytes <= 1024 * 1024, `one read returns ${page.events.length} events, ${bytes} bytes`)
    const client = await sseClient(port, '/s', first.id)
    await client.until((c) => c.events.length >= 1000, 30_000)
    t.notOk(client.events.some((e) => e.type === 'reset'), 'no reset')
    t.ok(client.events.every((e, i) => e.data.startsWith(`${i + 1}:`)), 'the whole history, in order')
    t.equal(app.sse.metrics().storeErrors, 0, 'no store error')
    client.close()
  })
}
