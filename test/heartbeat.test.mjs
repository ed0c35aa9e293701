import { test } from 'tap'
import { decodeEvents, EventStreamDecoder } from 'fastify-typed-sse/testing'
import { bodyOf, build, listen, rawGet, timerTracker } from './helpers/app.mjs'
import { until } from './helpers/wait.mjs'

// When heartbeats fall due is checked against a driven clock in test/internals; here, over a
// real socket, what they look like and where they may sit.
test('comment lines fill a silence, and never sit inside an event', async (t) => {
  const app = await build(t, { heartbeatMs: 40 })
  // Heartbeats on the wire, the opening frame aside (each is one write, so one chunk); read
  // only by the handler, which runs once the request below is on its way.
  const heartbeats = () => client.text.split(':\n\n').length - 2
  app.get('/', (request, reply) => reply.sse(async function * () {
    yield { data: 'a\nb' }
    await until(() => heartbeats() >= 3, 'three heartbeats in the silence')
    yield { data: 'c' }
  }))
  const port = await listen(app)
  const client = rawGet(port, '/')
  await client.closed
  const body = bodyOf(client.text)
  const comments = []
  const events = []
  new EventStreamDecoder({ onComment: (c) => comments.push(c), onEvent: (e) => events.push(e.data) }).push(body)
  t.ok(comments.length >= 4, `the opening frame and ${comments.length - 1} heartbeats, all comments`)
  t.same(events, ['a\nb', 'c'], 'events are intact')
  t.match(body, /^:\n\ndata: a\ndata: b\n\n(:\n\n)+data: c\n\n$/, 'heartbeats sit between blocks only')
})

test('events written back to back carry no heartbeat', async (t) => {
  const app = await build(t, { heartbeatMs: 40 })
  app.get('/', (request, reply) => reply.sse(async function * () {
    for (let i = 0; i < 20; i++) yield { data: i }
  }))
  const port = await listen(app)
  const client = rawGet(port, '/')
  await client.closed
  const body = bodyOf(client.text)
  t.equal(decodeEvents(body).length, 20)
  t.equal(body.split(':\n\n').length - 1, 1, 'only the opening frame is a comment')
})

test('heartbeats turned off: no timer runs for an open stream, so nothing can write one', async (t) => {
  const tracker = timerTracker()
  t.teardown(() => tracker.stop())
  const app = await build(t, { heartbeatMs: false, stallTimeoutMs: false })
  let proceed
  const checked = new Promise((resolve) => { proceed = resolve })
  app.get('/', (request, reply) => reply.sse(async function * () {
    await checked
    yield { data: 'x' }
  }))
  const port = await listen(app)
  const before = tracker.count
  const client = rawGet(port, '/')
  await until(() => app.sse.openStreams === 1, 'the stream to open')
  t.equal(tracker.count, before, 'no interval started')
  proceed()
  await client.closed
  t.equal(bodyOf(client.text), ':\n\ndata: x\n\n')
})

test('the shared timer runs only while a stream is open', async (t) => {
  // heartbeatMs 40 with no stall timeout: the plugin's one interval ticks every 20 ms.
  const tracker = timerTracker(20)
  t.teardown(() => tracker.stop())
  const app = await build(t, { heartbeatMs: 40, stallTimeoutMs: false })
  const streams = []
  app.get('/', (request, reply) => {
    const stream = reply.sse.open()
    streams.push(stream)
    return stream.done
  })
  const port = await listen(app)
  t.equal(tracker.count, 0, 'no timer before any stream')
  const clients = [rawGet(port, '/'), rawGet(port, '/'), rawGet(port, '/')]
  await until(() => streams.length === 3, 'three streams')
  t.equal(tracker.count, 1, 'one timer for three streams')
  streams[0].close()
  streams[1].close()
  await Promise.all([clients[0].closed, clients[1].closed])
  t.equal(tracker.count, 1, 'still running while a stream is open')
  streams[2].close()
  await clients[2].closed
  await until(() => tracker.count === 0, 'the timer to stop with the last stream')
  t.equal(tracker.count, 0)
})
