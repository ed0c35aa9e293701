// The example app's routes through inject (and, for the entry point, real processes): the
// checks that need no browser. The browser suites (browser-*.test.mjs) cover the pages.
import { test } from 'tap'
import { spawn } from 'node:child_process'
import http from 'node:http'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { EventStreamDecoder, injectEvents } from 'fastify-typed-sse/testing'
import { buildApp } from '../example-app/app.mjs'
import { composeReply, tokenize } from '../example-app/lib/tokens.mjs'
import { requireRedisServer, startRedis } from './helpers/redis-server.mjs'
import { until } from './helpers/wait.mjs'

async function exampleApp (t, options = {}) {
  const app = await buildApp({ publishIntervalMs: 0, tokenDelayMs: 0, ...options })
  t.teardown(() => app.close())
  await app.ready()
  return app
}

async function login (app, name) {
  const response = await app.inject({ method: 'POST', url: '/api/session', payload: { name } })
  return response.headers['set-cookie'].split(';')[0]
}

test('static files: pages, modules, the package client; nothing outside the root', async (t) => {
  const app = await exampleApp(t)
  for (const [url, type] of [['/', 'text/html'], ['/dashboard.html', 'text/html'], ['/app.css', 'text/css'],
    ['/js/dashboard.js', 'text/javascript'], ['/vendor/fastify-typed-sse/client.js', 'text/javascript']]) {
    const response = await app.inject(url)
    t.equal(response.statusCode, 200, url)
    t.match(response.headers['content-type'], type, `${url} content type`)
  }
  t.match((await app.inject('/vendor/fastify-typed-sse/client.js')).body, /export function createSseClient/, 'the built client')
  for (const url of ['/missing.html', '/../package.json', '/%2e%2e/package.json', '/js/..%2f..%2fapp.mjs', '/js', '/%00.html', '/app.mjs']) {
    const response = await app.inject(url)
    t.equal(response.statusCode, 404, `${url} is not served`)
    t.match(response.headers['content-type'], 'text/html', `${url}: the not-found page`)
    t.match(response.body, /<a id="home"[^>]* href="\/">/, `${url}: it links home`)
  }
  for (const [method, url] of [['GET', '/api/nothing'], ['POST', '/api/nothing'], ['DELETE', '/jobs.html']]) {
    const response = await app.inject({ method, url })
    t.equal(response.statusCode, 404, `${method} ${url}`)
    if (url.startsWith('/api/')) t.same(response.json(), { error: 'Not Found', message: `no route ${method} ${url}` }, 'the API answers JSON')
  }
  const icon = await app.inject('/favicon.svg')
  t.equal(icon.statusCode, 200)
  t.match(icon.headers['content-type'], 'image/svg+xml')
  const ico = await app.inject('/favicon.ico')
  t.same([ico.statusCode, ico.headers.location], [301, '/favicon.svg'], 'what browsers ask for by themselves leads to the icon')
})

test('jobs: created pending, run while watched, refused a second watcher', async (t) => {
  const app = await exampleApp(t)
  const created = await app.inject({ method: 'POST', url: '/api/jobs', payload: { speed: 'fast' } })
  t.equal(created.statusCode, 201)
  const { id, status } = created.json()
  t.equal(status, 'pending')
  const result = await injectEvents(app, `/api/jobs/${id}/events`)
  t.equal(result.statusCode, 200)
  t.same(result.events.map((e) => e.type), [...Array(20).fill('progress'), 'done'])
  t.same(result.events.slice(0, -1).map((e) => JSON.parse(e.data).percent), Array.from({ length: 20 }, (_, i) => (i + 1) * 5))
  t.equal(JSON.parse(result.events.at(-1).data).ok, true)
  t.same((await app.inject(`/api/jobs/${id}`)).json(), { id, status: 'done', step: 'Verifying', percent: 100, speed: 'fast' })
  const again = await app.inject(`/api/jobs/${id}/events`)
  t.equal(again.statusCode, 409, 'a finished job cannot be watched again')
  t.match(again.headers['content-type'], 'application/json', 'a plain HTTP error, not a stream')
  t.equal((await app.inject('/api/jobs/nope/events')).statusCode, 404)
  t.equal((await app.inject('/api/jobs/nope')).statusCode, 404)
  t.equal((await app.inject({ method: 'POST', url: '/api/jobs', payload: { speed: 'warp' } })).statusCode, 400)
})

test('jobs: the watcher leaving cancels the job', async (t) => {
  const app = await exampleApp(t)
  const { id } = (await app.inject({ method: 'POST', url: '/api/jobs', payload: { speed: 'normal' } })).json()
  const result = await injectEvents(app, `/api/jobs/${id}/events`, { count: 1, timeoutMs: 3000 })
  t.same(JSON.parse(result.events[0].data), { step: 'Reading input', percent: 5 })
  const job = await until(async () => {
    const body = (await app.inject(`/api/jobs/${id}`)).json()
    return body.status !== 'running' && body
  }, 'the job to stop')
  t.equal(job.status, 'cancelled')
  t.equal(job.percent, 5, 'no step ran after the watcher left')
})

test('dashboard: publish, snapshot, and a stream resumed from the snapshot position', async (t) => {
  const app = await exampleApp(t)
  const { head, state } = (await app.inject('/api/dashboard/snapshot')).json()
  t.same(state, { metrics: {}, services: { api: 'up', db: 'up', queue: 'up' }, alerts: [] })
  const publish = (event, data) => app.inject({ method: 'POST', url: '/api/dashboard/events', payload: { event, data } })
  t.equal((await publish('metric', { name: 'cpu', value: 'high' })).statusCode, 400, 'a payload of the wrong type')
  t.equal((await publish('weather', { sunny: true })).statusCode, 400, 'an undeclared event')
  t.equal((await publish('status', { service: 'db', state: 'on fire' })).statusCode, 400, 'a value outside the enum')
  const first = await publish('metric', { name: 'cpu', value: 42 })
  t.equal(first.statusCode, 201)
  await publish('alert', { level: 'critical', message: 'disk full' })
  await publish('status', { service: 'db', state: 'down' })

  const result = await injectEvents(app, { url: `/api/dashboard/stream?lastEventId=${encodeURIComponent(head)}` }, { count: 3 })
  t.same(result.events.map((e) => e.type), ['metric', 'alert', 'status'])
  t.equal(result.events[0].lastEventId, first.json().id)
  const alert = JSON.parse(result.events[1].data)
  t.match(alert, { level: 'critical', message: 'disk full', id: String, at: Number }, 'the server fills in id and time')

  const after = (await app.inject('/api/dashboard/snapshot')).json()
  t.equal(after.state.metrics.cpu.value, 42)
  t.equal(after.state.services.db, 'down')
  t.same(after.state.alerts.map((a) => a.id), [alert.id])
  t.equal(after.head, result.events[2].lastEventId, 'the snapshot position is the newest event')
})

test('dashboard: a cursor older than the buffer gets a reset notice', async (t) => {
  const app = await exampleApp(t, { dashboardReplay: { maxEvents: 3 } })
  const { head } = (await app.inject('/api/dashboard/snapshot')).json()
  for (let i = 0; i < 6; i++) {
    await app.inject({ method: 'POST', url: '/api/dashboard/events', payload: { event: 'metric', data: { name: 'cpu', value: i } } })
  }
  const result = await injectEvents(app, { url: '/api/dashboard/stream', headers: { 'last-event-id': head } }, { count: 1 })
  t.equal(result.events[0].type, 'reset')
  t.match(JSON.parse(result.events[0].data), { reason: 'trimmed', lastEventId: head })
})

test('notifications: 401 before any stream; each user reads only their own stream', async (t) => {
  const app = await exampleApp(t)
  const anonymous = await app.inject('/api/notifications/stream')
  t.equal(anonymous.statusCode, 401)
  t.match(anonymous.headers['content-type'], 'application/json', 'no event stream was started')
  t.equal(app.sse.openStreams, 0)
  t.equal((await app.inject({ url: '/api/notifications/stream', headers: { cookie: 'sid=alice.forged' } })).statusCode, 401, 'a forged cookie')
  t.equal((await app.inject({ url: '/api/notifications/stream', headers: { cookie: 'sid=alice' } })).statusCode, 401, 'an unsigned cookie')
  t.equal((await app.inject({ method: 'POST', url: '/api/notifications', payload: { to: 'bob', text: 'x' } })).statusCode, 401, 'sending needs a session')
  t.equal((await app.inject({ method: 'POST', url: '/api/session', payload: { name: 'Robert"); DROP' } })).statusCode, 400, 'a bad user name')
  const anonymousSession = await app.inject('/api/session')
  t.equal(anonymousSession.statusCode, 200, 'asking whether one is logged in is not an error')
  t.same(anonymousSession.json(), { signedIn: false, user: null })

  const alice = await login(app, 'alice')
  const bob = await login(app, 'bob')
  t.same((await app.inject({ url: '/api/session', headers: { cookie: alice } })).json(), { signedIn: true, user: 'alice' })
  const other = await buildApp({ publishIntervalMs: 0 })
  t.teardown(() => other.close())
  t.same((await other.inject({ url: '/api/session', headers: { cookie: alice } })).json(), { signedIn: false, user: null }, 'another secret does not accept the cookie')
  t.equal((await other.inject({ url: '/api/notifications/stream', headers: { cookie: alice } })).statusCode, 401, 'nor does its stream')

  const send = (cookie, to, text) => app.inject({ method: 'POST', url: '/api/notifications', headers: { cookie }, payload: { to, text } })
  const aliceLive = injectEvents(app, { url: '/api/notifications/stream', headers: { cookie: alice } }, { count: 2 })
  await until(() => app.sse.metrics().subscribers === 1, 'alice to subscribe')
  t.equal((await send(bob, 'alice', 'one')).statusCode, 201)
  await send(alice, 'bob', 'for bob')
  await send(bob, 'alice', 'two')
  const { events } = await aliceLive
  const notes = events.map((e) => JSON.parse(e.data))
  t.same(events.map((e) => e.type), ['note', 'note'])
  t.same(notes.map(({ from, text }) => ({ from, text })), [{ from: 'bob', text: 'one' }, { from: 'bob', text: 'two' }])

  // Replaying from the start of bob's stream with alice's cookie: still alice's stream.
  const bobLive = injectEvents(app, { url: '/api/notifications/stream', headers: { cookie: bob } }, { count: 1 })
  await until(() => app.sse.metrics().subscribers === 1, 'bob to subscribe')
  await send(alice, 'bob', 'for bob, again')
  const [epoch] = (await bobLive).events[0].lastEventId.split(':')
  const replay = await injectEvents(app, { url: '/api/notifications/stream', headers: { cookie: alice, 'last-event-id': `${epoch}:0` } }, { count: 1 })
  t.equal(replay.events[0].type, 'reset', "bob's position means nothing on alice's stream")
  t.equal(JSON.parse(replay.events[0].data).reason, 'epoch')
  t.equal((await app.inject({ method: 'DELETE', url: '/api/session' })).headers['set-cookie'].includes('Max-Age=0'), true, 'logout clears the cookie')
})

test('tokens: the POST streams the whole answer, chunk by chunk', async (t) => {
  const app = await exampleApp(t)
  const prompt = 'What is a token stream?'
  const result = await injectEvents(app, { method: 'POST', url: '/api/generate', payload: { prompt } })
  t.equal(result.statusCode, 200)
  const tokens = result.events.filter((e) => e.type === 'token').map((e) => JSON.parse(e.data).text)
  t.same(tokens, tokenize(composeReply(prompt)), 'the tokens, in order')
  t.equal(tokens.join(''), composeReply(prompt), 'they add up to the answer')
  t.same(result.events.at(-1), { type: 'done', data: JSON.stringify({ tokens: tokens.length, finish: 'stop' }), lastEventId: '' })
  t.equal((await app.inject({ method: 'POST', url: '/api/generate', payload: {} })).statusCode, 400, 'a prompt is required')
})

/** Runs `npm start`'s server (without the build step) and resolves with its address. */
async function startServer (t, env) {
  const child = spawn(process.execPath, [fileURLToPath(new URL('../example-app/server.mjs', import.meta.url))], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(async () => {
    if (child.exitCode !== null) return
    child.kill('SIGTERM')
    await once(child, 'exit')
  })
  let out = ''
  child.stderr.on('data', (chunk) => { out += chunk })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 20 s:\n${out}`)), 20_000)
    child.stdout.on('data', (chunk) => {
      out += chunk
      const match = /example app on (http:\/\/[^ ]+)/.exec(out)
      if (match) { clearTimeout(timer); resolve({ base: match[1], child }) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}):\n${out}`)) })
  })
}

/** A real SSE client over HTTP, as a browser tab on that instance would be. */
function listen (url) {
  const events = []
  const decoder = new EventStreamDecoder({ onEvent: (event) => events.push(event) })
  const request = http.get(url, { agent: false }, (response) => response.on('data', (chunk) => decoder.push(chunk)))
  request.on('error', () => {})
  return { events, decoder, close: () => request.destroy() }
}

test('server.mjs: the memory store by default; SIGTERM closes it', async (t) => {
  const { base, child } = await startServer(t, { REDIS_URL: '' })
  t.same((await (await fetch(base + '/api/info')).json()).store, 'memory')
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  t.equal(code, 0, 'a clean exit')
})

test('server.mjs with REDIS_URL: two instances serve the same events and snapshot', async (t) => {
  if (!requireRedisServer(t)) return
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  // The simulator off: every event on the stream and in the snapshot is then one this test
  // published, whatever the scheduling of the two processes.
  const env = { REDIS_URL: redis.url, SESSION_SECRET: 'shared between the instances', DASHBOARD_PUBLISH_MS: '0' }
  const [a, b] = await Promise.all([startServer(t, env), startServer(t, env)])
  t.not(a.base, b.base)
  t.equal((await (await fetch(b.base + '/api/info')).json()).store, 'redis')

  const onB = listen(b.base + '/api/dashboard/stream')
  t.teardown(() => onB.close())
  // Live once its id-only head block has arrived: nothing published after that is missed.
  await until(() => onB.decoder.lastEventId !== '', 'B to be positioned')
  const post = (base, item) => fetch(base + '/api/dashboard/events', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(item)
  }).then((r) => r.json())
  const ids = [
    (await post(a.base, { event: 'metric', data: { name: 'cpu', value: 71 } })).id,
    (await post(b.base, { event: 'status', data: { service: 'api', state: 'degraded' } })).id
  ]
  await until(() => onB.events.length >= 2, "the events on B's stream")
  t.same(onB.events.map((e) => e.lastEventId), ids, 'one order across instances')
  const [snapA, snapB] = await Promise.all([a.base, b.base].map(async (base) => (await fetch(base + '/api/dashboard/snapshot')).json()))
  t.same(snapA, snapB, 'both instances serve the same snapshot')
  t.equal(snapA.state.metrics.cpu.value, 71)
  t.equal(snapA.state.services.api, 'degraded')

  // A login on one instance is accepted by the other (shared SESSION_SECRET).
  const cookie = (await fetch(a.base + '/api/session', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'alice' })
  })).headers.get('set-cookie').split(';')[0]
  t.same(await (await fetch(b.base + '/api/session', { headers: { cookie } })).json(), { signedIn: true, user: 'alice' })

  // And her inbox, read on B, gets a note sent on A.
  const inbox = http.get(b.base + '/api/notifications/stream', { agent: false, headers: { cookie } })
  const notes = []
  const decoder = new EventStreamDecoder({ onEvent: (event) => notes.push(JSON.parse(event.data)) })
  inbox.on('response', (response) => response.on('data', (chunk) => decoder.push(chunk)))
  inbox.on('error', () => {})
  t.teardown(() => inbox.destroy())
  await until(() => decoder.lastEventId !== '', "alice's inbox on B to be positioned")
  const sent = await fetch(a.base + '/api/notifications', {
    method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify({ to: 'alice', text: 'across instances' })
  })
  t.equal(sent.status, 201)
  await until(() => notes.length === 1, 'the note on B')
  t.match(notes[0], { from: 'alice', text: 'across instances' })
})
