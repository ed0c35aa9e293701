// Caps on open streams: maxStreams (the instance) and maxStreamsPerKey (streamKey(request),
// default the client address). Over a cap the answer is a 200 event stream carrying only
// `retry:` (drawn in [limitRetryMs, 2 × limitRetryMs)) that ends at once: EventSource backs off
// and tries again, instead of giving up (any other status) or hammering. The producer of a
// refused stream is never called. Slots come back on every end path.
import { test } from 'tap'
import { EventSource } from 'undici'
import { bodyOf, build, listen, producerCounter, rawGet } from './helpers/app.mjs'
import { until } from './helpers/wait.mjs'

function routes (app, counter) {
  app.get('/source', (request, reply) => reply.sse(async function * ({ signal }) {
    counter.started++
    try {
      yield { data: 'in' }
      await new Promise((resolve) => signal.addEventListener('abort', resolve))
    } finally {
      counter.finished++
    }
  }))
  app.get('/open', (request, reply) => {
    const stream = reply.sse.open()
    stream.send({ data: 'in' })
    return stream.done
  })
  app.get('/sub', (request, reply) => reply.sse.subscribe('feed'))
  app.get('/fail', (request, reply) => reply.sse(async function * () {
    yield { data: 'in' }
    throw new Error('boom')
  }))
  app.get('/finite', (request, reply) => reply.sse([{ data: 'in' }]))
}

test('maxStreams: the stream over the cap gets 200 + retry + end on every path, and its producer never runs', async (t) => {
  const counter = producerCounter()
  const app = await build(t, { maxStreams: 3, limitRetryMs: 5000 })
  routes(app, counter)
  const port = await listen(app)
  const held = ['/source', '/open', '/sub'].map((path) => rawGet(port, path))
  await until(() => app.sse.openStreams === 3, 'three open')
  t.equal(counter.started, 1)
  for (const path of ['/source', '/open', '/sub']) {
    const refused = rawGet(port, path)
    await refused.closed
    t.match(refused.text, /^HTTP\/1.1 200/, `${path}: a 200, which EventSource retries`)
    const body = bodyOf(refused.text)
    const retry = Number(/retry: (\d+)\n\n$/.exec(body)?.[1])
    t.ok(retry >= 5000 && retry < 10000, `${path}: retry ${retry} in [limitRetryMs, 2 × limitRetryMs)`)
    t.notMatch(body, /data:/, 'no events')
  }
  t.equal(counter.started, 1, 'the refused producer was never called')
  const m = app.sse.metrics()
  t.equal(m.streamsEnded.limit, 3)
  t.equal(m.streamsOpened, 6)
  t.equal(m.openStreams, 3)
  for (const client of held) client.socket.destroy()
  await until(() => app.sse.openStreams === 0, 'released')
  const again = rawGet(port, '/finite')
  await again.closed
  t.match(bodyOf(again.text), 'data: in', 'slots are back after disconnects')
})

test('maxStreamsPerKey with a server-derived key; the default key is the client address', async (t) => {
  const counter = producerCounter()
  const app = await build(t, { maxStreamsPerKey: 2, streamKey: (request) => String(request.headers['x-user'] ?? 'anonymous') })
  routes(app, counter)
  const port = await listen(app)
  const a = [rawGet(port, '/source', { 'x-user': 'a' }), rawGet(port, '/sub', { 'x-user': 'a' })]
  await until(() => app.sse.openStreams === 2, 'a holds two')
  const third = rawGet(port, '/open', { 'x-user': 'a' })
  await third.closed
  t.match(bodyOf(third.text), /^:\n\nretry: \d+\n\n$/, 'a third stream for a is refused')
  const b = rawGet(port, '/open', { 'x-user': 'b' })
  await until(() => app.sse.openStreams === 3, 'b is not affected')
  t.equal(app.sse.metrics().limitKeys, 2)
  for (const client of [...a, b]) client.socket.destroy()
  await until(() => app.sse.metrics().limitKeys === 0, 'idle keys are forgotten')

  const byIp = await build(t, { maxStreamsPerKey: 1 })
  routes(byIp, counter)
  const ipPort = await listen(byIp)
  const first = rawGet(ipPort, '/sub')
  await until(() => byIp.sse.openStreams === 1, 'one from 127.0.0.1')
  const second = rawGet(ipPort, '/sub')
  await second.closed
  t.match(bodyOf(second.text), /retry: \d+\n\n$/, 'a second from the same address is refused')
  first.socket.destroy()
})

test('slots come back on every end path: end, error, client gone, lifetime, stall, shutdown', async (t) => {
  const counter = producerCounter()
  let offset = 0
  const app = await build(t, { maxStreams: 1, maxStreamsPerKey: 1, heartbeatMs: 40, maxConnectionMs: 10_000, now: () => performance.now() + offset })
  routes(app, counter)
  const port = await listen(app)
  const admitted = async () => {
    const probe = rawGet(port, '/finite')
    await probe.closed
    return bodyOf(probe.text).includes('data: in')
  }
  for (const path of ['/finite', '/fail']) {
    const client = rawGet(port, path)
    await client.closed
    t.ok(await admitted(), `after ${path}`)
  }
  const gone = rawGet(port, '/source')
  await until(() => app.sse.openStreams === 1, 'open')
  gone.socket.destroy()
  await until(() => app.sse.openStreams === 0, 'client gone')
  t.ok(await admitted(), 'after a disconnect')
  const aged = rawGet(port, '/sub')
  await until(() => app.sse.openStreams === 1, 'open')
  offset += 10_000
  await aged.closed
  t.ok(await admitted(), 'after a lifetime end')
  const last = rawGet(port, '/open')
  await until(() => app.sse.openStreams === 1, 'open')
  await app.close()
  await last.closed
  const m = app.sse.metrics()
  t.equal(m.limitKeys, 0, 'no key holds a slot after shutdown')
  t.equal(m.openStreams, 0)
  t.equal(m.streamsEnded.shutdown, 1)
  t.equal(m.streamsEnded.limit, 0, 'nothing was refused: every slot came back')
})

test('a stalled client releases its slot', async (t) => {
  const app = await build(t, { maxStreams: 1, stallTimeoutMs: 50, maxBufferedBytes: 64 * 1024 * 1024 })
  const big = 'x'.repeat(64 * 1024)
  app.get('/flood', (request, reply) => reply.sse(function * () { for (;;) yield { data: big } }))
  app.get('/finite', (request, reply) => reply.sse([{ data: 'in' }]))
  const port = await listen(app)
  const stalled = rawGet(port, '/flood')
  stalled.socket.pause()
  await until(() => app.sse.metrics().streamsEnded.stalled === 1, 'the stall', 10_000)
  stalled.socket.destroy()
  const probe = rawGet(port, '/finite')
  await probe.closed
  t.match(bodyOf(probe.text), 'data: in')
})

test('a real EventSource refused by the cap backs off and gets in when a slot frees', async (t) => {
  const app = await build(t, { maxStreams: 1, limitRetryMs: 50 })
  const feed = app.sse.stream('feed')
  app.get('/sub', (request, reply) => reply.sse.subscribe(feed))
  const port = await listen(app)
  const holder = rawGet(port, '/sub')
  await until(() => app.sse.openStreams === 1, 'the slot is taken')
  const es = new EventSource(`http://127.0.0.1:${port}/sub`)
  t.teardown(() => es.close())
  const got = []
  let errors = 0
  es.onerror = () => { errors++ }
  es.onmessage = (e) => got.push(e.data)
  await until(() => app.sse.metrics().streamsEnded.limit >= 2, 'refused, and it came back')
  t.not(es.readyState, EventSource.CLOSED, 'EventSource did not give up')
  const refusals = app.sse.metrics().streamsEnded.limit
  t.ok(refusals < 50, `it backed off (${refusals} tries), not hammering`)
  holder.socket.destroy()
  await until(() => app.sse.metrics().streamsEnded.client === 1, 'the holder is gone')
  await until(() => app.sse.metrics().subscribers === 1, 'it got in')
  await feed.publish({ data: 'hello' })
  await until(() => got.length === 1, 'the event')
  t.same(got, ['hello'])
  t.ok(errors >= 1)
})

test('limit options are checked; a bad streamKey result is a coded error before any byte', async (t) => {
  for (const options of [{ maxStreams: 0 }, { maxStreamsPerKey: -1 }, { streamKey: 'ip' }, { limitRetryMs: 0 }]) {
    const err = await build(t, options).then(() => undefined, (e) => e)
    t.equal(err?.code, 'FST_SSE_INVALID_OPTION', JSON.stringify(options))
  }
  const app = await build(t, { maxStreamsPerKey: 1, streamKey: (request) => request.headers['x-user'] })
  app.get('/s', (request, reply) => reply.sse([{ data: 'x' }]))
  const res = await app.inject('/s')
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'FST_SSE_INVALID_KEY')
})
