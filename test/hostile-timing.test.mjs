// Operations features under hostile timing: an expiry already past delivers nothing on any
// path (replay and pushes included), a future one ends on time rather than at the shared
// timer's next tick, and a burst of requests over a cap calls no producer beyond it.
import { test } from 'tap'
import { bodyOf, build, listen, rawGet } from './helpers/app.mjs'
import { failOnEscapes } from './helpers/escapes.mjs'
import { until } from './helpers/wait.mjs'

function expiringRoutes (app, seen, at) {
  const before = (request, reply) => reply.sse.expireAt(at())
  app.get('/before/source', (request, reply) => {
    before(request, reply)
    return reply.sse(function * () {
      seen.producers++
      for (let i = 0; i < 50; i++) yield { data: 'event ' + i }
    })
  })
  app.get('/before/open', (request, reply) => {
    before(request, reply)
    const stream = reply.sse.open()
    for (let i = 0; i < 50; i++) if (stream.send({ data: 'event ' + i })) seen.sent++
    return stream.done
  })
  app.get('/before/sub', (request, reply) => {
    before(request, reply)
    return reply.sse.subscribe('feed')
  })
  app.get('/after/source', (request, reply) => {
    const done = reply.sse(async function * () {
      seen.producers++
      for (let i = 0; i < 50; i++) yield { data: 'event ' + i }
    })
    reply.sse.expireAt(at())
    return done
  })
  app.get('/after/open', (request, reply) => {
    const stream = reply.sse.open()
    reply.sse.expireAt(at())
    for (let i = 0; i < 50; i++) if (stream.send({ data: 'event ' + i })) seen.sent++
    return stream.done
  })
  app.get('/after/sub', async (request, reply) => {
    const live = reply.sse.subscribe('feed')
    reply.sse.expireAt(at())
    return live
  })
}

const PATHS = ['/before/source', '/before/open', '/before/sub', '/after/open', '/after/sub', '/after/source']

test('an expiry already past ends the stream at once, having sent nothing, on every path', async (t) => {
  failOnEscapes(t)
  const app = await build(t, { heartbeatMs: false, reconnectMs: 250 })
  const seen = { producers: 0, sent: 0 }
  expiringRoutes(app, seen, () => new Date(Date.now() - 1))
  const feed = app.sse.stream('feed')
  let first
  for (let i = 0; i < 20; i++) {
    const event = await feed.publish({ data: 'missed ' + i })
    first ??= event.id
  }
  const port = await listen(app)
  for (const path of PATHS) {
    // A resume from the first event: 19 to replay if anything were delivered.
    const client = rawGet(port, path, { accept: 'text/event-stream', 'last-event-id': first })
    await client.closed
    const body = bodyOf(client.text)
    t.notMatch(body, /data:/, `${path}: nothing delivered`)
    t.match(body, /retry: 250\n\n$/, `${path}: the reconnect hint ends it`)
  }
  t.equal(seen.producers, 0, 'no producer ran: the streams ended before their first item was pulled')
  t.equal(seen.sent, 0, 'send() says the stream is over')
  const m = app.sse.metrics()
  t.equal(m.streamsEnded.expired, PATHS.length)
  t.equal(m.replayedEvents, 0)
  t.equal(m.openStreams, 0)
})

test('a future expiry ends the stream on time, not at the shared timer\'s next tick', async (t) => {
  failOnEscapes(t)
  // No heartbeats and no stall checks: the shared timer would only run once a second.
  const app = await build(t, { heartbeatMs: false, stallTimeoutMs: false })
  const seen = { producers: 0, sent: 0 }
  expiringRoutes(app, seen, () => Date.now() + 150)
  app.sse.stream('feed')
  const port = await listen(app)
  for (const path of ['/before/open', '/before/sub', '/after/open', '/after/sub']) {
    const started = performance.now()
    const client = rawGet(port, path, { accept: 'text/event-stream' })
    await client.closed
    const took = performance.now() - started
    t.ok(took >= 140 && took < 800, `${path}: ended after ${Math.round(took)} ms for an expiry 150 ms away`)
  }
  t.equal(app.sse.metrics().streamsEnded.expired, 4)
})

test('a burst of requests over maxStreams calls no producer beyond the cap', async (t) => {
  failOnEscapes(t)
  for (const options of [{ maxStreams: 3 }, { maxStreamsPerKey: 3 }]) {
    const app = await build(t, { ...options, limitRetryMs: 1000 })
    let called = 0
    let release
    const gate = new Promise((resolve) => { release = resolve })
    // A producer that gets ready before its stream opens (looks a job up, say).
    app.get('/', (request, reply) => reply.sse(async () => {
      called++
      await gate
      return (async function * () {
        yield { data: 'hello' }
        await new Promise(() => {})
      })()
    }))
    const port = await listen(app)
    const clients = Array.from({ length: 10 }, () => rawGet(port, '/', { accept: 'text/event-stream' }))
    await until(() => app.sse.metrics().streamsEnded.limit === 7, `${JSON.stringify(options)}: seven refused`)
    t.equal(called, 3, `${JSON.stringify(options)}: only the admitted streams' producers ran`)
    release()
    await until(() => clients.filter((c) => c.text.includes('data: hello')).length === 3, 'the admitted streams')
    t.equal(app.sse.openStreams, 3)
    for (const client of clients) client.socket.destroy()
    await until(() => app.sse.openStreams === 0, 'every client gone')
    t.equal(app.sse.metrics().limitKeys, 0, 'every per-key slot given back')
    await app.close()
  }
})

test('a slot taken before the stream opened is given back however the start fails', async (t) => {
  failOnEscapes(t)
  const app = await build(t, { maxStreams: 1, maxStreamsPerKey: 1 })
  app.sse.stream('keyed', { key: () => { throw new Error('forbidden') } })
  app.get('/throws', (request, reply) => reply.sse(async () => { throw new Error('no such job') }))
  app.get('/unknown', (request, reply) => reply.sse.subscribe('keyed'))
  app.get('/twice', (request, reply) => {
    const stream = reply.sse.open()
    t.throws(() => reply.sse.open(), { code: 'FST_SSE_ALREADY_STARTED' })
    stream.close()
    return stream.done
  })
  let reached, left
  app.get('/left', (request, reply) => reply.sse(async () => {
    reached = true
    // The client leaves while the producer is still getting ready.
    await new Promise((resolve) => request.raw.socket.once('close', resolve))
    left = true
    return [{ data: 'never sent' }]
  }))
  app.get('/ok', (request, reply) => {
    const stream = reply.sse.open()
    stream.send({ data: 'admitted' })
    stream.close()
    return stream.done
  })
  const port = await listen(app)
  t.equal((await app.inject({ url: '/throws', headers: { accept: 'text/event-stream' } })).statusCode, 500)
  t.equal((await app.inject({ url: '/unknown', headers: { accept: 'text/event-stream' } })).statusCode, 500)
  await app.inject({ url: '/twice', headers: { accept: 'text/event-stream' } })
  const leaving = rawGet(port, '/left', { accept: 'text/event-stream' })
  await until(() => reached, 'the producer to start')
  leaving.socket.destroy()
  await until(() => left && app.sse.openStreams === 0, 'the producer to return after the client left')
  const ok = await app.inject({ url: '/ok', headers: { accept: 'text/event-stream' } })
  t.match(ok.body, /data: admitted/, 'the one slot is free again')
})
