// maxTotalBufferedBytes: each slow client is bounded by maxBufferedBytes, and all of them
// together by the budget. Clients that never read (a socket paused before its first byte) on
// live fan-out, replay and pushed streams: the bytes queued to them stay within the budget, the
// clients furthest behind are disconnected first (end reason `budget`, counted as evictions),
// a client that reads gets every event, and shutdown does not wait for clients that do not read.
import { test } from 'tap'
import net from 'node:net'
import dc from 'node:diagnostics_channel'
import { build, listen, rawGet } from './helpers/app.mjs'
import { failOnEscapes } from './helpers/escapes.mjs'
import { until } from './helpers/wait.mjs'

const KiB = 1024
const MiB = 1024 * KiB
const BUDGET = 3 * MiB
const EVENT = 'x'.repeat(64 * KiB)
// The same 64 KiB on the wire in a third of the UTF-16 units: the budget counts bytes, not units.
const WIDE_EVENT = '€'.repeat(Math.floor(64 * KiB / 3))

// One turn of the event loop: the client that reads, in this same process, reads meanwhile.
const turn = () => new Promise((resolve) => setImmediate(resolve))

/**
 * A client that sends its request and never reads a byte: it never sees the server close the
 * connection either (the close waits behind the data it does not read), so how its stream
 * ended is read on the server, by the `x-client` header it sends.
 */
function neverReads (port, path, id, headers = {}) {
  const socket = net.connect(port, '127.0.0.1')
  socket.pause()
  socket.on('error', () => {})
  const lines = Object.entries({ accept: 'text/event-stream', 'x-client': id, ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('')
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines}\r\n`)
  return { socket, id: String(id) }
}

/** How each never-reading client's stream ended, in order, from the stream:end channel. */
function endings (t) {
  const ended = []
  const onEnd = ({ request, reason }) => {
    const id = request?.headers['x-client']
    if (id !== undefined) ended.push({ id, reason })
  }
  dc.subscribe('fastify-typed-sse:stream:end', onEnd)
  t.teardown(() => dc.unsubscribe('fastify-typed-sse:stream:end', onEnd))
  return ended
}

async function budgetApp (t, maxBufferedBytes = MiB) {
  const app = await build(t, { maxBufferedBytes, maxTotalBufferedBytes: BUDGET, heartbeatMs: false, stallTimeoutMs: false })
  // Every stream's response, to sum what is queued to them on the server.
  const responses = new Set()
  app.addHook('onRequest', async (request, reply) => { responses.add(reply.raw) })
  const queued = () => {
    let total = 0
    for (const res of responses) if (!res.destroyed && !res.writableFinished) total += res.writableLength
    return total
  }
  // What the budget can be over by: its 1/64 between two exact counts, and per client not
  // counted as behind, one socket high-water mark and one event.
  const allowed = (clients) => BUDGET + BUDGET / 64 + clients * (16 * KiB + Buffer.byteLength(EVENT) + 1024)
  return { app, queued, allowed }
}

for (const [what, event] of [['ASCII', EVENT], ['3-byte characters', WIDE_EVENT]]) {
  test(`live fan-out (${what}): subscribers that never read stay within the budget, furthest behind evicted first`, async (t) => {
    failOnEscapes(t)
    // Each client alone may queue far more than the budget: only the budget bounds them here.
    const { app, queued, allowed } = await budgetApp(t, 64 * MiB)
    const evicted = []
    const onEvict = (message) => evicted.push(message.reason)
    dc.subscribe('fastify-typed-sse:evict', onEvict)
    t.teardown(() => dc.unsubscribe('fastify-typed-sse:evict', onEvict))
    const feed = app.sse.stream('feed')
    app.get('/sub', (request, reply) => reply.sse.subscribe(feed))
    const port = await listen(app)
    const reader = rawGet(port, '/sub', { accept: 'text/event-stream' })
    await until(() => app.sse.metrics().subscribers === 1, 'the reader live')
    const ended = endings(t)
    const slow = []
    let published = 0
    let peak = 0
    // Each slow client joins 16 events (1 MiB) after the one before: the first is furthest behind.
    for (let n = 0; n < 6; n++) {
      slow.push(neverReads(port, '/sub', n))
      await until(() => app.sse.metrics().subscribers === 1 + slow.length - ended.length, 'the new client live').catch((err) => {
        throw new Error(`${err.message}: ended ${JSON.stringify(ended)}, ${JSON.stringify(app.sse.metrics())}`)
      })
      for (let i = 0; i < 16; i++) {
        await feed.publish({ data: event })
        await turn()
        published++
        peak = Math.max(peak, queued())
      }
    }
    for (let i = 0; ended.length < slow.length && i < 2000; i++) {
      await feed.publish({ data: event })
      await turn()
      published++
      peak = Math.max(peak, queued())
    }
    t.equal(ended.length, slow.length, 'every client that never reads was disconnected')
    t.ok(peak <= allowed(7), `at most ${peak} bytes queued (budget ${BUDGET})`)
    const m = app.sse.metrics()
    t.equal(m.streamsEnded.budget, 6, 'each ended over the budget')
    t.equal(m.evictions, 6, 'counted as evictions')
    t.ok(evicted.includes('budget'), 'published on the evict channel')
    t.same(ended[0], { id: '0', reason: 'budget' }, `the client furthest behind went first: ${JSON.stringify(ended)}`)
    await until(() => (reader.text.match(/^data: /gm) ?? []).length === published, 'the reader got every event')
    t.ok(m.bufferedBytes >= 0)
    reader.socket.destroy()
    for (const c of slow) c.socket.destroy()
  })
}

test('replay: clients resuming a long history that never read stay within the budget', async (t) => {
  failOnEscapes(t)
  const { app, queued, allowed } = await budgetApp(t)
  const feed = app.sse.stream('history', { replay: { maxEvents: 1000, maxBytes: 256 * MiB } })
  app.get('/sub', (request, reply) => reply.sse.subscribe(feed))
  let first
  for (let i = 0; i < 400; i++) {
    const event = await feed.publish({ data: EVENT })
    first ??= event.id
  }
  const port = await listen(app)
  const ended = endings(t)
  const slow = Array.from({ length: 12 }, (_, i) => neverReads(port, '/sub', i, { 'last-event-id': first }))
  let peak = 0
  // Each replay stops once its client is a page behind: the budget ends the ones furthest behind.
  await until(() => {
    peak = Math.max(peak, queued())
    return ended.some((e) => e.reason === 'budget') && queued() <= BUDGET + BUDGET / 64
  }, 'evictions over the budget', 20_000).catch((err) => {
    throw new Error(`${err.message}: queued ${queued()}, ended ${JSON.stringify(ended)}, ${JSON.stringify(app.sse.metrics())}`)
  })
  t.ok(peak <= allowed(12) + 12 * 256 * KiB, `at most ${peak} bytes queued (budget ${BUDGET})`)
  const reader = rawGet(port, '/sub', { accept: 'text/event-stream', 'last-event-id': first })
  await until(() => (reader.text.match(/data: x/g) ?? []).length === 399, 'a client that reads gets the whole replay')
  for (const c of slow) c.socket.destroy()
  reader.socket.destroy()
})

test('pushed streams and shutdown: within the budget, and close() does not wait for clients that never read', async (t) => {
  failOnEscapes(t)
  const { app, queued, allowed } = await budgetApp(t)
  const streams = []
  app.get('/push', (request, reply) => {
    const stream = reply.sse.open()
    streams.push(stream)
    return stream.done
  })
  const port = await listen(app)
  const slow = Array.from({ length: 8 }, (_, i) => neverReads(port, '/push', i))
  await until(() => streams.length === 8, 'every stream open')
  let peak = 0
  for (let i = 0; i < 3000 && app.sse.metrics().streamsEnded.budget < 4; i++) {
    for (const stream of streams) stream.send({ data: EVENT })
    await turn()
    peak = Math.max(peak, queued())
  }
  t.ok(app.sse.metrics().streamsEnded.budget >= 4, 'the clients furthest behind were disconnected over the budget')
  t.ok(peak <= allowed(8), `at most ${peak} bytes queued (budget ${BUDGET})`)
  const open = streams.filter((s) => !s.closed)
  t.ok(open.length > 0, 'some are still open, behind')
  await app.close()
  for (const stream of open) t.equal((await stream.done).reason, 'shutdown')
  await until(() => queued() === 0, 'nothing left queued')
  for (const c of slow) c.socket.destroy()
})

test('a stream that ends while its client is behind does not hold the queue past stallTimeoutMs', async (t) => {
  failOnEscapes(t)
  const app = await build(t, { maxBufferedBytes: 64 * MiB, heartbeatMs: false, stallTimeoutMs: 200 })
  let stream, res
  app.get('/push', (request, reply) => {
    res = reply.raw
    stream = reply.sse.open()
    return stream.done
  })
  const port = await listen(app)
  const client = neverReads(port, '/push', 0)
  await until(() => stream !== undefined, 'the stream open')
  // Far more than the kernel takes: the rest waits in the response's queue.
  for (let i = 0; i < 400 && res.writableLength < 2 * MiB; i++) {
    stream.send({ data: EVENT })
    await turn()
  }
  t.ok(res.writableLength >= 2 * MiB, 'the client is behind')
  stream.close()
  t.equal((await stream.done).reason, 'end')
  await until(() => res.destroyed, 'the response dropped once stallTimeoutMs passed')
  client.socket.destroy()
})
