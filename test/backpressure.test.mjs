import { test } from 'tap'
import { decodeEvents } from 'fastify-typed-sse/testing'
import { bodyOf, build, listen, pushRoute, rawGet } from './helpers/app.mjs'
import { until } from './helpers/wait.mjs'

const payload = 'x'.repeat(1000)

function counting (state) {
  return async function * ({ signal }) {
    try {
      for (let i = 1; i <= 20_000; i++) {
        state.pulled = i
        yield { id: i, data: payload }
      }
    } finally {
      state.finished = true
      state.aborted = signal.aborted
    }
  }
}

test('the next item is pulled only when the socket has room', async (t) => {
  const app = await build(t, { stallTimeoutMs: false })
  const state = { pulled: 0 }
  let raw
  app.get('/', (request, reply) => { raw = reply.raw; return reply.sse(counting(state)) })
  const port = await listen(app)
  const client = rawGet(port, '/')
  client.socket.pause() // a client that stops reading
  // The socket refused a write: the pump is parked until 'drain', pulling nothing meanwhile.
  await until(() => raw?.socket?.writableNeedDrain, 'the producer to park on backpressure')
  const parked = state.pulled
  t.ok(parked < 15_000, `parked after ${state.pulled} of 20000 items (kernel and socket buffers, not the whole stream)`)
  t.notOk(state.finished, 'the producer is waiting, not finished')
  // Reading again resumes the flow, and every event arrives once, in order.
  client.socket.resume()
  await client.closed
  const ids = decodeEvents(bodyOf(client.text)).map((e) => Number(e.lastEventId))
  t.equal(ids.length, 20_000)
  t.ok(ids.every((id, i) => id === i + 1), 'in order, no gaps, no duplicates')
})

test('a socket that closes while the pump waits for drain ends the wait', async (t) => {
  const app = await build(t, { stallTimeoutMs: false })
  const state = { pulled: 0 }
  let result
  let raw
  app.get('/', async (request, reply) => { raw = reply.raw; result = await reply.sse(counting(state)) })
  const port = await listen(app)
  const client = rawGet(port, '/')
  client.socket.pause()
  await until(() => raw?.socket?.writableNeedDrain, 'the pump to wait for drain')
  client.socket.destroy()
  await until(() => result, 'reply.sse() to settle')
  t.equal(result.reason, 'client')
  await until(() => state.finished, 'the producer to be cancelled')
  t.ok(state.aborted)
})

test('a client that stops reading for longer than stallTimeoutMs is disconnected and its producer cancelled', async (t) => {
  const app = await build(t, { stallTimeoutMs: 200, heartbeatMs: false })
  const state = { pulled: 0 }
  let result
  app.get('/', async (request, reply) => { result = await reply.sse(counting(state)) })
  const port = await listen(app)
  const client = rawGet(port, '/')
  client.socket.pause()
  await until(() => result, 'the stall timeout to end the stream')
  t.equal(result.reason, 'stalled')
  await until(() => state.finished, 'the producer to be cancelled')
  t.ok(state.aborted)
  t.equal(app.sse.openStreams, 0)
  client.socket.destroy()
})

test('a pushed stream whose client stops reading is dropped past maxBufferedBytes', async (t) => {
  const app = await build(t, { maxBufferedBytes: 64 * 1024, stallTimeoutMs: false })
  const holder = {}
  pushRoute(app, holder)
  const port = await listen(app)
  const client = rawGet(port, '/')
  client.socket.pause()
  const stream = await until(() => holder.stream, 'the stream to open')
  let sent = 0
  while (stream.send({ data: payload })) {
    sent++
    if (sent % 100 === 0) await new Promise((resolve) => setImmediate(resolve)) // let the socket move what it can
    if (sent > 100_000) break
  }
  t.ok(sent < 100_000, `dropped after ${sent} sends`)
  const result = await stream.done
  t.equal(result.reason, 'overflow')
  t.ok(stream.signal.aborted)
  t.equal(stream.send({ data: 'x' }), false, 'sends after the end are refused')
  t.equal(app.sse.openStreams, 0)
  client.socket.destroy()
})

test('a pushed stream rejects invalid items without closing', async (t) => {
  const app = await build(t)
  const holder = {}
  pushRoute(app, holder)
  const port = await listen(app)
  const client = rawGet(port, '/')
  const stream = await until(() => holder.stream, 'the stream to open')
  t.throws(() => stream.send({ event: 'a\nb', data: 1 }), { code: 'FST_SSE_INVALID_EVENT' })
  t.throws(() => stream.send({ data: 'x'.repeat(2 * 1024 * 1024) }), { code: 'FST_SSE_EVENT_TOO_LARGE' })
  t.equal(stream.send({ data: 'still open' }), true)
  stream.close()
  await client.closed
  t.same(decodeEvents(bodyOf(client.text)).map((e) => e.data), ['still open'])
  t.same(await stream.done, { reason: 'end', events: 1 })
})
