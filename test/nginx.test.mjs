// A real nginx in front of the app, configured as the README recommends (test/readme/nginx.conf.txt,
// with a 1 s proxy_read_timeout): events arrive one by one with nginx's default buffering (the
// plugin's X-Accel-Buffering: no), upstream connections are reused only with an upstream
// keepalive pool, heartbeats keep a silent stream past proxy_read_timeout, gzip ignores
// no-transform, and a maxConnectionMs end resumes through the proxy. Prints the first-event
// delay through nginx and direct, and the upstream connections opened for N streams.
import { test } from 'tap'
import http from 'node:http'
import { readFileSync } from 'node:fs'
import { EventSource } from 'undici'
import { build, listen } from './helpers/app.mjs'
import { requireNginx, startNginx } from './helpers/nginx.mjs'
import { until } from './helpers/wait.mjs'

const README_CONF = readFileSync(new URL('./readme/nginx.conf.txt', import.meta.url), 'utf8')

/** A GET whose body is read as it arrives: `{ status, headers, text, chunks: [{ at, text }], closed, destroy() }`. */
function get (url, headers = {}) {
  const started = performance.now()
  const out = { text: '', chunks: [], started }
  out.response = new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      out.status = res.statusCode
      out.headers = res.headers
      res.on('data', (chunk) => {
        const text = chunk.toString('latin1')
        out.text += text
        out.chunks.push({ at: performance.now() - started, text })
      })
      out.closed = new Promise((resolve) => res.on('close', resolve))
      resolve(res)
    })
    req.on('error', reject)
    out.destroy = () => req.destroy()
  })
  return out
}

function median (values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

async function setup (t) {
  let offset = 0
  const app = await build(t, { heartbeatMs: 300, reconnectMs: 50, maxConnectionMs: 3_600_000, now: () => performance.now() + offset })
  const held = []
  app.get('/events/finite', (request, reply) => reply.sse([{ data: 'one' }, { data: 'two' }]))
  app.get('/events/stepped', (request, reply) => {
    const stream = reply.sse.open()
    stream.send({ data: 'one' })
    held.push(stream)
    return stream.done
  })
  app.get('/events/quiet', (request, reply) => reply.sse(async function * ({ signal }) {
    yield { data: 'hello' }
    await new Promise((resolve) => signal.addEventListener('abort', resolve))
  }))
  const feed = app.sse.stream('feed')
  app.get('/events/sub', (request, reply) => reply.sse.subscribe(feed))
  let accepted = 0
  app.server.on('connection', () => { accepted++ })
  const appPort = await listen(app)

  const silent = await build(t, { heartbeatMs: false })
  silent.get('/events/quiet', (request, reply) => reply.sse(async function * ({ signal }) {
    yield { data: 'hello' }
    await new Promise((resolve) => signal.addEventListener('abort', resolve))
  }))
  const silentPort = await listen(silent)

  const conf = README_CONF
    .replace('127.0.0.1:3000', `127.0.0.1:${appPort}`)
    .replace('proxy_read_timeout 60s', 'proxy_read_timeout 1s')
    .replace('# ...', `LISTEN;
    location /nopool/ {
        proxy_pass http://127.0.0.1:${appPort}/;
        proxy_http_version 1.1;
        proxy_set_header Connection '';
    }
    location /plain/ {
        proxy_pass http://127.0.0.1:${appPort}/;
    }
    location /gzip/ {
        proxy_pass http://app/;
        proxy_http_version 1.1;
        proxy_set_header Connection '';
        gzip on;
        gzip_min_length 1;
        gzip_types text/event-stream;
    }
    location /silent/ {
        proxy_pass http://127.0.0.1:${silentPort}/;
        proxy_read_timeout 1s;
    }`)
  const nginx = await startNginx(t, conf)
  return { app, feed, held, nginx, appPort, accepted: () => accepted, advance: (ms) => { offset += ms } }
}

test('nginx in front of the app', async (t) => {
  if (!requireNginx(t)) return
  const { app, feed, held, nginx, appPort, accepted, advance } = await setup(t)

  await t.test('events arrive one by one, with nginx\'s default buffering too', async (t) => {
    for (const path of ['/events/stepped', '/plain/events/stepped']) {
      const before = held.length
      const res = get(nginx.url(path))
      // Not `await res.response`: a buffering proxy would hold even the head, and this must fail, not hang.
      await until(() => res.text.includes('data: one'), `the first event through ${path}`)
      t.equal(res.status, 200)
      t.notOk(res.text.includes('data: two'), 'the second is not sent yet')
      held[before].send({ data: 'two' })
      await until(() => res.text.includes('data: two'), `the second event through ${path}, without the stream ending`)
      held[before].close()
      await res.closed
    }
  })

  await t.test('first-event delay through nginx and direct', async (t) => {
    const delays = { nginx: [], direct: [] }
    for (let i = 0; i < 20; i++) {
      for (const [name, url] of [['nginx', nginx.url('/events/finite')], ['direct', `http://127.0.0.1:${appPort}/events/finite`]]) {
        const res = get(url)
        await res.response
        await until(() => res.text.includes('data: one'), 'the first event')
        delays[name].push(res.chunks.find((c) => c.text.includes('data: one')).at)
        await res.closed
      }
    }
    const figures = { nginxMedianMs: median(delays.nginx).toFixed(2), directMedianMs: median(delays.direct).toFixed(2) }
    t.comment(`first event (median of 20): through nginx ${figures.nginxMedianMs} ms, direct ${figures.directMedianMs} ms`)
    t.ok(median(delays.nginx) < 200, 'no buffering delay through nginx')
  })

  await t.test('upstream connections: reused with an upstream keepalive pool, one per stream without it', async (t) => {
    const N = 5
    const counts = {}
    for (const [name, path] of [['pool', '/events/finite'], ['nopool', '/nopool/events/finite']]) {
      const before = accepted()
      for (let i = 0; i < N; i++) {
        const res = get(nginx.url(path))
        await res.response
        await res.closed
        t.match(res.text, 'data: two')
      }
      counts[name] = accepted() - before
    }
    t.comment(`upstream connections for ${N} sequential streams: with keepalive pool ${counts.pool}, proxy_http_version 1.1 + Connection '' alone ${counts.nopool}`)
    t.ok(counts.pool <= 1, 'the pool reuses one connection')
    t.equal(counts.nopool, N, 'without a pool every stream opens its own upstream connection')
    // Concurrent streams take one pooled connection each, then hand them back for the next ones.
    const before = accepted()
    const open = Array.from({ length: N }, () => get(nginx.url('/events/quiet')))
    await Promise.all(open.map((r) => r.response))
    await until(() => open.every((r) => r.text.includes('hello')), 'all open')
    for (const r of open) r.destroy()
    await until(() => app.sse.openStreams === 0, 'closed upstream')
    const mid = accepted()
    for (let i = 0; i < N; i++) {
      const res = get(nginx.url('/events/finite'))
      await res.response
      await res.closed
    }
    t.comment(`${N} concurrent streams opened ${mid - before} upstream connections; ${N} more after them opened ${accepted() - mid}`)
  })

  await t.test('gzip compresses event streams despite no-transform; the recommended location does not', async (t) => {
    const zipped = get(nginx.url('/gzip/events/finite'), { 'accept-encoding': 'gzip' })
    await zipped.response
    await zipped.closed
    t.equal(zipped.headers['content-encoding'], 'gzip', 'nginx gzips text/event-stream when gzip_types lists it')
    t.match(zipped.headers['cache-control'], 'no-transform')
    const plain = get(nginx.url('/events/finite'), { 'accept-encoding': 'gzip' })
    await plain.response
    await plain.closed
    t.equal(plain.headers['content-encoding'], undefined)
  })

  await t.test('heartbeats keep a silent stream open past proxy_read_timeout (1 s; heartbeats every 300 ms)', async (t) => {
    const kept = get(nginx.url('/events/quiet'))
    const cut = get(nginx.url('/silent/events/quiet'))
    await Promise.all([kept.response, cut.response])
    let cutClosed = false
    cut.closed.then(() => { cutClosed = true })
    await until(() => cutClosed, 'nginx to cut the stream without heartbeats', 5000)
    const cutAt = performance.now() - cut.started
    t.ok(cutAt >= 900, `without heartbeats nginx cut the stream after ${cutAt.toFixed(0)} ms`)
    // The stream with heartbeats has now outlived the timeout; wait for it to pass 2 s.
    await until(() => performance.now() - kept.started > 2000 && kept.text.split(':\n\n').length > 5, 'heartbeats past 2 s', 5000)
    t.equal(app.sse.openStreams, 1, 'still open upstream')
    t.notOk(kept.text.endsWith('0\r\n\r\n'), 'and through nginx')
    kept.destroy()
  })

  await t.test('a maxConnectionMs end resumes through nginx, losing nothing', async (t) => {
    await until(() => app.sse.openStreams === 0, 'earlier streams closed')
    const es = new EventSource(nginx.url('/events/sub'))
    t.teardown(() => es.close())
    const got = []
    es.onmessage = (e) => got.push(e.data)
    await until(() => app.sse.metrics().subscribers === 1, 'subscribed through nginx')
    await feed.publish({ data: 'a' })
    await until(() => got.length === 1, 'a')
    advance(3_600_000)
    await until(() => app.sse.metrics().streamsEnded.lifetime === 1, 'the lifetime end')
    await feed.publish({ data: 'b' })
    await until(() => got.length === 2, 'b, replayed after the reconnection through nginx')
    await feed.publish({ data: 'c' })
    await until(() => got.length === 3, 'c, live')
    t.same(got, ['a', 'b', 'c'])
    t.equal(app.sse.metrics().replays, 1)
  })
})
