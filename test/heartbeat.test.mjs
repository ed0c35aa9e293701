import { test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { decodeEvents, EventStreamDecoder } from 'fastify-typed-sse/testing'
import { bodyOf, build, listen, rawGet, timerTracker, until } from './helpers/app.mjs'

test('a comment line goes out after heartbeatMs of silence, and never inside an event', async (t) => {
  const app = await build(t, { heartbeatMs: 40 })
  app.get('/', (request, reply) => reply.sse(async function * ({ signal }) {
    yield { data: 'a\nb' }
    await sleep(300, undefined, { signal })
    yield { data: 'c' }
  }))
  const port = await listen(app)
  const client = rawGet(port, '/')
  await client.closed
  const body = bodyOf(client.text)
  const comments = []
  const events = []
  new EventStreamDecoder({ onComment: (c) => comments.push(c), onEvent: (e) => events.push(e.data) }).push(body)
  t.ok(comments.length >= 3, `${comments.length} heartbeats in 300 ms of silence (every 40 ms)`)
  t.same(events, ['a\nb', 'c'], 'events are intact')
  t.match(body, /^:\n\ndata: a\ndata: b\n\n(:\n\n)+data: c\n\n$/, 'heartbeats sit between blocks only')
})

test('no heartbeat while events keep flowing', async (t) => {
  const app = await build(t, { heartbeatMs: 100 })
  app.get('/', (request, reply) => reply.sse(async function * ({ signal }) {
    for (let i = 0; i < 20; i++) {
      yield { data: i }
      await sleep(20, undefined, { signal })
    }
  }))
  const port = await listen(app)
  const client = rawGet(port, '/')
  await client.closed
  const body = bodyOf(client.text)
  t.equal(decodeEvents(body).length, 20)
  t.equal(body.split(':\n\n').length - 1, 1, 'only the opening frame is a comment')
})

test('heartbeats can be turned off', async (t) => {
  const app = await build(t, { heartbeatMs: false })
  app.get('/', (request, reply) => reply.sse(async function * ({ signal }) {
    await sleep(150, undefined, { signal })
    yield { data: 'x' }
  }))
  const port = await listen(app)
  const client = rawGet(port, '/')
  await client.closed
  t.equal(bodyOf(client.text), ':\n\ndata: x\n\n')
})

test('the shared timer runs only while a stream is open', async (t) => {
  const tracker = timerTracker()
  t.teardown(() => tracker.stop())
  const timers = () => tracker.count
  // Sockets hold timers of their own: compare against the same stream with heartbeats off.
  async function timersWhileOpen (heartbeatMs) {
    const app = await build(t, { heartbeatMs, stallTimeoutMs: false })
    let stream
    app.get('/', (request, reply) => {
      stream = reply.sse.open()
      return stream.done
    })
    const port = await listen(app)
    const before = timers()
    const client = rawGet(port, '/')
    await until(() => stream, 'the stream')
    await sleep(50)
    const open = timers() - before
    stream.close()
    await client.closed
    await until(() => timers() <= before, 'every timer of the stream to stop')
    await app.close()
    return open
  }
  const without = await timersWhileOpen(false)
  const withHeartbeat = await timersWhileOpen(20)
  t.equal(withHeartbeat - without, 1, `one shared timer while a stream is open (${withHeartbeat} vs ${without}), none after`)
})
