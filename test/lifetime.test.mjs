// Stream lifetimes: maxConnectionMs (plugin and route, with jitter) and reply.sse.expireAt()
// end a stream cleanly with a `retry:` hint, on every start path, driven by the plugin's
// injected clock (the shared timer ticks often; the clock decides). A real EventSource on a
// replay stream reconnects and loses nothing.
import { test } from 'tap'
import { EventSource } from 'undici'
import { bodyOf, build, listen, rawGet } from './helpers/app.mjs'
import { until } from './helpers/wait.mjs'

/** A clock the test moves forward; heartbeats every 40 ms keep the shared timer ticking every 20 ms. */
function clock () {
  let offset = 0
  return { now: () => performance.now() + offset, advance: (ms) => { offset += ms } }
}

/**
 * Waits for a tick of the shared timer after the clock moved: that tick writes a heartbeat to
 * every open client (their silence now exceeds heartbeatMs on the moved clock) and checks
 * every deadline in the same pass.
 */
async function tickSeen (clients) {
  const lengths = clients.map((client) => client.text.length)
  await until(() => clients.every((client, i) => client.text.length > lengths[i] && client.text.endsWith('\r\n')), 'a tick after the clock moved')
}

function infinite () {
  return async function * ({ signal }) {
    yield { data: 'first' }
    await new Promise((resolve) => signal.addEventListener('abort', resolve))
  }
}

function routes (app) {
  app.get('/source', (request, reply) => reply.sse(infinite()))
  app.get('/open', (request, reply) => {
    const stream = reply.sse.open()
    stream.send({ data: 'first' })
    return stream.done
  })
  app.get('/sub', (request, reply) => reply.sse.subscribe('feed'))
  app.get('/short', { sse: { maxConnectionMs: 1000 } }, (request, reply) => reply.sse(infinite()))
}

test('maxConnectionMs ends streams on every path with a retry hint, within the jitter window', async (t) => {
  const c = clock()
  const app = await build(t, { now: c.now, heartbeatMs: 40, maxConnectionMs: 100_000, reconnectMs: 250 })
  routes(app)
  const port = await listen(app)
  const clients = []
  for (const path of ['/source', '/open', '/sub']) for (let i = 0; i < 8; i++) clients.push(rawGet(port, path))
  await until(() => app.sse.openStreams === 24, 'all streams open')
  let closed = 0
  for (const client of clients) client.closed.then(() => closed++)
  c.advance(79_000) // below 80 %: nobody goes yet
  await tickSeen(clients)
  t.equal(app.sse.openStreams, 24, 'no stream ends before 80 % of maxConnectionMs')
  c.advance(11_000) // 90 %: about half have gone
  await tickSeen(clients.filter((client) => !client.socket.destroyed && !client.text.includes('retry: 250')))
  const atNinety = app.sse.openStreams
  t.ok(atNinety > 0 && atNinety < 24, `jitter spreads the ends: ${24 - atNinety} of 24 ended at 90 %`)
  c.advance(10_000) // 100 %: everyone
  await until(() => closed === 24, 'every stream to end')
  for (const client of clients) {
    t.match(bodyOf(client.text), /retry: 250\n\n$/, 'the last block is the reconnect hint')
    t.notMatch(client.text, /event: error/)
  }
  const m = app.sse.metrics()
  t.equal(m.streamsEnded.lifetime, 24)
  t.equal(m.openStreams, 0)
})

test('a route-level maxConnectionMs overrides the plugin\'s, and false turns it off', async (t) => {
  const c = clock()
  const app = await build(t, { now: c.now, heartbeatMs: 40, maxConnectionMs: 100_000 })
  routes(app)
  app.get('/forever', { sse: { maxConnectionMs: false } }, (request, reply) => reply.sse(infinite()))
  const port = await listen(app)
  const short = rawGet(port, '/short')
  const forever = rawGet(port, '/forever')
  await until(() => app.sse.openStreams === 2, 'open')
  c.advance(1000)
  await short.closed
  t.match(bodyOf(short.text), /retry: 1000\n\n$/)
  c.advance(1_000_000)
  await tickSeen([forever])
  t.equal(app.sse.openStreams, 1, 'the route without a lifetime stays open')
  forever.socket.destroy()
})

test('expireAt() before and after the stream starts, on every path; the earliest time wins', async (t) => {
  const c = clock()
  const app = await build(t, { now: c.now, heartbeatMs: 40 })
  const expiring = new Map()
  app.get('/before/:path', (request, reply) => {
    reply.sse.expireAt(new Date(Date.now() + 60_000))
    reply.sse.expireAt(Date.now() + 120_000) // later: ignored
    const path = request.params.path
    if (path === 'source') return reply.sse(infinite())
    if (path === 'sub') return reply.sse.subscribe('feed')
    const stream = reply.sse.open()
    return stream.done
  })
  app.get('/after/:path', async (request, reply) => {
    const path = request.params.path
    let done
    if (path === 'source') done = reply.sse(infinite())
    else if (path === 'sub') done = reply.sse.subscribe('feed')
    else done = reply.sse.open().done
    reply.sse.expireAt(Date.now() + 60_000)
    expiring.set(path, true)
    return done
  })
  app.get('/bad', (request, reply) => {
    reply.sse.expireAt(new Date('not a date'))
  })
  const port = await listen(app)
  const clients = []
  for (const when of ['before', 'after']) for (const path of ['source', 'open', 'sub']) clients.push(rawGet(port, `/${when}/${path}`))
  await until(() => app.sse.openStreams === 6, 'open')
  c.advance(59_000)
  await tickSeen(clients)
  t.equal(app.sse.openStreams, 6, 'not before its time')
  c.advance(1000)
  await Promise.all(clients.map((client) => client.closed))
  for (const client of clients) t.match(bodyOf(client.text), /retry: 1000\n\n$/)
  t.equal(app.sse.metrics().streamsEnded.expired, 6)
  const bad = await app.inject('/bad')
  t.equal(bad.statusCode, 500)
  t.equal(bad.json().code, 'FST_SSE_INVALID_EXPIRY')
  t.match(bad.json().message, 'got an invalid Date')
})

test('a real EventSource on a replay stream reconnects after its lifetime and loses nothing', async (t) => {
  const c = clock()
  const app = await build(t, { now: c.now, heartbeatMs: 40, maxConnectionMs: 60_000, reconnectMs: 20 })
  const feed = app.sse.stream('feed')
  app.get('/sub', (request, reply) => reply.sse.subscribe(feed))
  const port = await listen(app)
  const es = new EventSource(`http://127.0.0.1:${port}/sub`)
  t.teardown(() => es.close())
  const got = []
  let opens = 0
  es.onopen = () => { opens++ }
  es.onmessage = (e) => got.push({ data: e.data, id: e.lastEventId })
  await until(() => app.sse.metrics().subscribers === 1, 'subscribed')
  await feed.publish({ data: 'one' })
  await until(() => got.length === 1, 'one')
  c.advance(60_000)
  await until(() => app.sse.metrics().streamsEnded.lifetime === 1, 'the lifetime end')
  // Published between the end and the reconnection: replayed from the client's last id.
  await feed.publish({ data: 'two' })
  await until(() => opens === 2 && app.sse.metrics().subscribers === 1, 'the reconnection')
  await feed.publish({ data: 'three' })
  await until(() => got.length === 3, 'two and three')
  t.same(got.map((e) => e.data), ['one', 'two', 'three'], 'each event once, in order')
  t.equal(app.sse.metrics().replays, 1, 'resumed by id')
  t.equal(app.sse.metrics().resets.malformed + app.sse.metrics().resets.trimmed, 0, 'no reset')
})

test('maxConnectionMs and expireAt are refused when invalid', async (t) => {
  for (const options of [{ maxConnectionMs: -1 }, { maxConnectionMs: 1.5 }, { reconnectMs: 'soon' }]) {
    const err = await build(t, options).then(() => undefined, (e) => e)
    t.equal(err?.code, 'FST_SSE_INVALID_OPTION', JSON.stringify(options))
  }
  const app = await build(t)
  t.throws(() => app.get('/x', { sse: { maxConnectionMs: 'long' } }, async () => {}),
    { code: 'FST_SSE_INVALID_ROUTE_OPTION', message: /route GET \/x: maxConnectionMs must be a non-negative integer or false, got "long"/ })
})
