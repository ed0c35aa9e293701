// node:diagnostics_channel events: stream open/end (with the reason, once per stream, on every
// start path), publish, replay, reset and eviction; and the Prometheus recipe of the example
// app, scraped over a real socket after real streams came and went.
import { test } from 'tap'
import diagnostics from 'node:diagnostics_channel'
import { buildApp } from '../example-app/app.mjs'
import { build, listen, rawGet, startPathRoutes } from './helpers/app.mjs'
import { until } from './helpers/wait.mjs'

function record (t, names) {
  const seen = []
  for (const name of names) {
    const fn = (message) => seen.push({ name, ...message })
    diagnostics.subscribe(name, fn)
    t.teardown(() => diagnostics.unsubscribe(name, fn))
  }
  return seen
}

const ALL = ['open', 'end'].map((n) => `fastify-typed-sse:stream:${n}`)
  .concat(['publish', 'replay', 'reset', 'evict'].map((n) => `fastify-typed-sse:${n}`))

test('stream:open and stream:end, once each per stream, with the end reason, on every start path', async (t) => {
  const seen = record(t, ALL)
  const app = await build(t, { maxStreams: 4 })
  startPathRoutes(app, 'a')
  app.get('/fail', (request, reply) => reply.sse(function * () { throw new Error('boom') }))
  const port = await listen(app)
  for (const path of ['/source', '/fail', '/open']) await rawGet(port, path).closed
  const sub = rawGet(port, '/sub')
  await until(() => app.sse.metrics().subscribers === 1, 'subscribed')
  sub.socket.destroy()
  await until(() => seen.filter((m) => m.name.endsWith('stream:end')).length === 4, 'four ends')
  const ends = seen.filter((m) => m.name.endsWith('stream:end'))
  t.same(ends.map((m) => m.reason), ['end', 'error', 'end', 'client'])
  t.same(ends.map((m) => m.request.url), ['/source', '/fail', '/open', '/sub'], 'each carries its request')
  t.ok(ends.every((m) => typeof m.durationMs === 'number' && m.durationMs >= 0))
  t.equal(seen.filter((m) => m.name.endsWith('stream:open')).length, 4)
})

test('publish, replay and reset events from the replay side', async (t) => {
  const seen = record(t, ALL)
  const app = await build(t)
  const feed = app.sse.stream('feed', { replay: { maxReplay: 2 } })
  app.get('/sub', (request, reply) => reply.sse.subscribe(feed))
  const port = await listen(app)
  const first = await feed.publish({ data: '1' })
  await feed.publish({ data: '2' })
  const resumed = rawGet(port, '/sub', { 'last-event-id': first.id })
  await until(() => seen.some((m) => m.name.endsWith(':replay')), 'the replay')
  const stale = rawGet(port, '/sub', { 'last-event-id': 'garbage' })
  await until(() => seen.some((m) => m.name.endsWith(':reset')), 'the reset')
  t.same(seen.filter((m) => m.name.endsWith(':publish')).map(({ stream, key, event }) => ({ stream, key, event })),
    [{ stream: 'feed', key: 'feed', event: undefined }, { stream: 'feed', key: 'feed', event: undefined }])
  t.match(seen.find((m) => m.name.endsWith(':replay')), { key: 'feed', events: 1 })
  t.match(seen.find((m) => m.name.endsWith(':reset')), { key: 'feed', reason: 'malformed' })
  resumed.socket.destroy()
  stale.socket.destroy()
})

test('evict: a subscriber that does not read is disconnected and reported', async (t) => {
  const seen = record(t, ALL)
  const app = await build(t, { maxBufferedBytes: 64 * 1024 })
  const feed = app.sse.stream('feed')
  app.get('/sub', (request, reply) => reply.sse.subscribe(feed))
  const port = await listen(app)
  const slow = rawGet(port, '/sub')
  slow.socket.pause()
  await until(() => app.sse.metrics().subscribers === 1, 'subscribed')
  const big = 'x'.repeat(16 * 1024)
  for (let i = 0; i < 200 && app.sse.metrics().evictions === 0; i++) await feed.publish({ data: big })
  await until(() => seen.some((m) => m.name.endsWith(':evict')), 'the eviction')
  t.match(seen.find((m) => m.name.endsWith(':evict')), { key: 'feed', reason: 'overflow' })
  slow.socket.destroy()
})

test('nothing is published to a channel without subscribers', async (t) => {
  const app = await build(t)
  app.get('/s', (request, reply) => reply.sse([{ data: 'a' }]))
  t.notOk(diagnostics.channel('fastify-typed-sse:stream:end').hasSubscribers)
  const res = await app.inject('/s')
  t.equal(res.statusCode, 200)
  t.equal(app.sse.metrics().streamsEnded.end, 1, 'the counters still count')
})

test('the example app serves Prometheus metrics at /metrics (prom-client recipe)', async (t) => {
  const app = await buildApp({ publishIntervalMs: 0, tokenDelayMs: 0 })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = app.server.address().port
  const watcher = rawGet(port, '/api/dashboard/stream')
  const gone = rawGet(port, '/api/dashboard/stream')
  await until(() => app.sse.metrics().subscribers === 2, 'two watchers')
  gone.socket.destroy()
  await until(() => app.sse.metrics().subscribers === 1, 'one left')
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ method: 'POST', url: '/api/dashboard/events', payload: { event: 'metric', data: { name: 'cpu', value: i } } })
    t.equal(res.statusCode < 300, true)
  }
  const res = await fetch(`http://127.0.0.1:${port}/metrics`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), 'text/plain')
  const text = await res.text()
  t.match(text, /^sse_open_streams 1$/m)
  t.match(text, /^sse_subscribers 1$/m)
  t.match(text, /^sse_streams_ended_total\{reason="client"\} 1$/m)
  t.match(text, /^sse_stream_duration_seconds_count\{reason="client"\} 1$/m)
  t.match(text, /^sse_published_total\{stream="dashboard"\} 3$/m)
  watcher.socket.destroy()
})
