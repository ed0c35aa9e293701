// HTTP/1.1 pipelining: a client may send several requests on one socket before reading any
// response. Node answers them in order, so the response to a later request waits behind the
// earlier ones, and when the socket closes Node never emits 'close' on a response still
// waiting. Every stream must still end when its socket goes: its slot, producer, heartbeat
// and subscriber released, `openStreams` true. The sequences are generated (seeded: the seed
// is printed, `SEED=<n>` replays one).
import { test } from 'tap'
import net from 'node:net'
import { once } from 'node:events'
import { build, listen, producerCounter, rawGet } from './helpers/app.mjs'
import { failOnEscapes } from './helpers/escapes.mjs'
import { rng, pick } from './helpers/rng.mjs'
import { until } from './helpers/wait.mjs'

const KINDS = ['slow', 'plain', 'source', 'open', 'sub']
const STREAMS = new Set(['source', 'open', 'sub'])

/** An app whose routes count the handlers that ran and the producers still running. */
async function pipelineApp (t, options) {
  const app = await build(t, { heartbeatMs: 50, ...options })
  const seen = { handled: 0, producers: producerCounter() }
  // The slow route answers only when the test lets it: everything after it on its socket waits.
  let release
  const gate = new Promise((resolve) => { release = resolve })
  t.teardown(() => release())
  app.get('/slow', async () => {
    seen.handled++
    await gate
    return 'slow'
  })
  app.get('/plain', async () => {
    seen.handled++
    return 'plain'
  })
  app.get('/source', (request, reply) => {
    seen.handled++
    return reply.sse(async function * ({ signal }) {
      seen.producers.started++
      try {
        yield { data: 'first' }
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
      } finally {
        seen.producers.finished++
      }
    })
  })
  app.get('/open', (request, reply) => {
    seen.handled++
    const stream = reply.sse.open()
    stream.send({ data: 'pushed' })
    return stream.done
  })
  app.get('/sub', (request, reply) => {
    seen.handled++
    return reply.sse.subscribe('feed')
  })
  return { app, seen }
}

function pipelined (port, paths) {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {})
  socket.resume()
  socket.write(paths.map((path) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`).join(''))
  return socket
}

test('streams queued behind another response on a pipelined socket end when the socket closes', async (t) => {
  failOnEscapes(t)
  const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31))
  t.comment(`SEED=${seed}`)
  const next = rng(seed)
  const cap = 6
  const { app, seen } = await pipelineApp(t, { maxStreams: cap })
  const port = await listen(app)
  for (let round = 0; round < 25; round++) {
    // Two to five requests, at least one a stream that is not first: that one waits in Node's queue.
    const kinds = Array.from({ length: 2 + Math.floor(next() * 4) }, () => pick(next, KINDS))
    if (!kinds.slice(1).some((kind) => STREAMS.has(kind))) kinds[kinds.length - 1] = pick(next, [...STREAMS])
    const what = `round ${round} (SEED=${seed}): ${kinds.join(', ')}`
    const before = seen.handled
    const socket = pipelined(port, kinds.map((kind) => '/' + kind))
    // Node runs the handlers of pipelined requests at once, whatever waits before them.
    await until(() => seen.handled === before + kinds.length, `every handler of ${what}`)
    socket.destroy()
    await until(() => app.sse.openStreams === 0, `openStreams back to 0 after ${what}`)
    await until(() => seen.producers.running === 0, `every producer finished after ${what}`)
    t.equal(app.sse.metrics().subscribers, 0, `no subscriber left after ${what}`)
  }
  // Every slot is free again: as many clients as the cap allows get a live stream.
  const clients = Array.from({ length: cap }, () => rawGet(port, '/open', { accept: 'text/event-stream' }))
  await until(() => clients.every((c) => c.text.includes('data: pushed')), 'every slot given to a new client')
  t.equal(app.sse.openStreams, cap)
  for (const client of clients) client.socket.destroy()
  await until(() => app.sse.openStreams === 0, 'the new clients gone')
  t.ok(app.sse.metrics().streamsEnded.client > 0)
})

test('a pipelined stream whose socket closed before its handler opened it is not kept', async (t) => {
  failOnEscapes(t)
  const app = await build(t, { maxStreams: 1 })
  let opened
  let reached
  const handlerReached = new Promise((resolve) => { reached = resolve })
  app.get('/slow', () => new Promise(() => {}))
  app.get('/late', async (request, reply) => {
    reached()
    // The socket is gone by the time this stream opens.
    const socket = request.raw.socket
    if (!socket.destroyed) await once(socket, 'close')
    opened = reply.sse.open()
    return opened.done
  })
  const port = await listen(app)
  const socket = pipelined(port, ['/slow', '/late'])
  await handlerReached
  socket.destroy()
  await until(() => opened !== undefined, 'the late stream to open')
  await until(() => opened.closed, 'the late stream to end')
  t.equal((await opened.done).reason, 'client')
  t.equal(app.sse.openStreams, 0)
})
