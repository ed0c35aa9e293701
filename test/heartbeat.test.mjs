import { test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { decodeEvents, EventStreamDecoder } from 'fastify-typed-sse/testing'
import { bodyOf, build, listen, rawGet, timerTracker } from './helpers/app.mjs'
import { until } from './helpers/wait.mjs'

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
