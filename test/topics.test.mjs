// Many topics over one stream on the memory store: the exact bytes, resume of every topic
// through one Last-Event-ID (real EventSource clients, a dropped socket, a restarted server),
// per-topic reset notices, changing the set, authorization per topic, and one buffer bound
// across topics.
import { test as tapTest } from 'tap'
import { EventSource as UndiciEventSource } from 'undici'
import { EventSource as PackageEventSource } from 'eventsource'
import { memoryStore, parseCursor } from 'fastify-typed-sse'
import { sseClient } from './helpers/replay.mjs'
import { bodyOf, rawGet } from './helpers/app.mjs'
import { ofTopic, topicsApp } from './helpers/topics.mjs'
import { until } from './helpers/wait.mjs'

const escaped = []
process.on('unhandledRejection', (err) => escaped.push(err))
process.on('uncaughtException', (err) => escaped.push(err))

/** A test that fails when anything escaped as an unhandled rejection or uncaught exception. */
function test (name, fn) {
  tapTest(name, async (t) => {
    await fn(t)
    await new Promise((resolve) => setImmediate(resolve))
    t.same(escaped.splice(0).map(String), [], 'nothing escaped')
  })
}

const listen = async (app, port = 0) => {
  await app.listen({ port, host: '127.0.0.1' })
  return app.server.address().port
}

function trackSockets (app) {
  const sockets = new Set()
  app.server.on('connection', (socket) => { sockets.add(socket); socket.on('close', () => sockets.delete(socket)) })
  return sockets
}

test('wire format: event: <topic>.<event>, the data as published, and one id naming every topic', async (t) => {
  const { app, publish } = await topicsApp(t)
  const port = await listen(app)
  const d1 = await publish('dashboard')
  const client = rawGet(port, '/events?topics=dashboard,bell&user=ann', { accept: 'text/event-stream' })
  await until(() => app.sse.metrics().subscribers === 2, 'both topics live')
  const b1 = await publish('bell', 'ann')
  const d2 = await publish('dashboard')
  await until(() => bodyOf(client.text).includes('"n":3'), 'both events')
  client.socket.destroy()
  const [dEpoch] = d1.id.split(':')
  const [bEpoch] = b1.id.split(':')
  const body = bodyOf(client.text)
  const ids = [...body.matchAll(/^id: (.*)$/gm)].map((m) => m[1])
  t.equal(ids.length, 3, 'an id-only block, then one id per event')
  const [dTag, bTag] = ids[0].split(',').map((entry) => entry.slice(0, 6))
  t.equal(body, ':\n\n' +
    `id: ${dTag}${dEpoch}.1,${bTag}${bEpoch}.0\n\n` +
    `event: bell.e\ndata: {"topic":"bell","key":"ann","n":2}\nid: ${dTag}${dEpoch}.1,${bTag}${bEpoch}.1\n\n` +
    `event: dashboard.e\ndata: {"topic":"dashboard","key":null,"n":3}\nid: ${dTag}${dEpoch}.2,${bTag}${bEpoch}.1\n\n`,
  'the exact bytes')
  t.equal(d2.id, `${dEpoch}:2`)
  t.equal(parseCursor(ids[2]).size, 2)
})

for (const [kind, EventSource] of [['undici', UndiciEventSource], ['eventsource package', PackageEventSource]]) {
  test(`${kind} EventSource: every topic resumes across a dropped socket, each with exactly what it missed`, async (t) => {
    const { app, publish } = await topicsApp(t, { plugin: { retryMs: 50 } })
    const sockets = trackSockets(app)
    const port = await listen(app)
    await publish('dashboard') // before the client: never sent
    const es = new EventSource(`http://127.0.0.1:${port}/events?topics=dashboard,bell,chat&user=ann`)
    t.teardown(() => es.close())
    const got = []
    let opens = 0
    es.onopen = () => { opens++ }
    for (const topic of ['dashboard', 'bell', 'chat']) {
      for (const name of ['e', 'reset']) es.addEventListener(`${topic}.${name}`, (e) => got.push({ type: e.type, data: e.data, lastEventId: e.lastEventId }))
    }
    await until(() => app.sse.metrics().subscribers === 3, 'three topics live')
    await publish('dashboard')
    await publish('bell', 'ann')
    await publish('bell', 'bob') // another user's bell: never sent
    await until(() => got.length === 2, 'the first events')
    for (const socket of sockets) socket.destroy()
    await until(() => app.sse.metrics().subscribers === 0, 'the drop')
    // While away: every topic moves on.
    await publish('chat')
    await publish('bell', 'ann')
    await publish('dashboard')
    await publish('chat')
    await until(() => got.length === 6, 'the missed events')
    await publish('bell', 'ann')
    await until(() => got.length === 7, 'live after the resume')
    const ns = (topic) => ofTopic(got, topic).map((e) => `${e.type}:${e.data.n}:${e.data.key}`)
    t.same(ns('dashboard'), ['event:2:null', 'event:7:null'], 'dashboard: each once, in order')
    t.same(ns('bell'), ['event:3:ann', 'event:6:ann', 'event:9:ann'], 'bell: only ann\'s, each once')
    t.same(ns('chat'), ['event:5:null', 'event:8:null'], 'chat')
    t.ok(opens >= 2, 'it reconnected')
    t.equal(app.sse.metrics().replays, 3, 'each topic resumed from the store')
  })
}

test('a server restart on the same store: every topic resumes exactly; on a fresh store each gets its own epoch reset', async (t) => {
  const store = memoryStore()
  t.teardown(() => store.close())
  const first = await topicsApp(t, { store, plugin: { retryMs: 50 } })
  const port = await listen(first.app)
  const es = new UndiciEventSource(`http://127.0.0.1:${port}/events?topics=dashboard,bell&user=ann`)
  t.teardown(() => es.close())
  const got = []
  for (const type of ['dashboard.e', 'bell.e', 'dashboard.reset', 'bell.reset']) {
    es.addEventListener(type, (e) => got.push({ type: e.type, data: e.data, lastEventId: e.lastEventId }))
  }
  await until(() => first.app.sse.metrics().subscribers === 2, 'live on the first server')
  await first.publish('dashboard')
  await first.publish('bell', 'ann')
  await until(() => got.length === 2, 'two events')
  await first.app.close()

  // The same store, a new server on the same port (a restart with the history kept).
  const second = await topicsApp(t, { store, plugin: { retryMs: 50 } })
  await second.dashboard.publish({ event: 'e', data: { topic: 'dashboard', key: null, n: 100 } })
  await second.bell.publish({ event: 'e', data: { topic: 'bell', key: 'ann', n: 101 } }, { key: 'ann' })
  await listen(second.app, port)
  await until(() => got.length === 4, 'what was published during the restart')
  t.same(got.slice(2).map((e) => `${e.type}:${JSON.parse(e.data).n}`).sort(), ['bell.e:101', 'dashboard.e:100'])
  t.equal(second.app.sse.metrics().replays, 2, 'both topics resumed')
  await second.app.close()

  // A fresh store (a restart of a process that kept history in memory): both topics reset, each on its own.
  const third = await topicsApp(t, { plugin: { retryMs: 50 } })
  await listen(third.app, port)
  await until(() => got.length === 6, 'two reset notices')
  const resets = got.slice(4)
  t.same(resets.map((e) => e.type).sort(), ['bell.reset', 'dashboard.reset'])
  t.same(resets.map((e) => JSON.parse(e.data).reason), ['epoch', 'epoch'])
  await until(() => third.app.sse.metrics().subscribers === 2, 'live on the third server')
  await third.publish('bell', 'ann')
  await until(() => got.length === 7, 'live after the resets')
  t.equal(got[6].type, 'bell.e')
})

test('a gap in one topic resets only that topic; the others replay exactly', async (t) => {
  const { app, publish } = await topicsApp(t, { streams: { chat: { replay: { maxEvents: 2 } } } })
  const port = await listen(app)
  const first = await sseClient(port, '/events?topics=dashboard,chat')
  await until(() => app.sse.metrics().subscribers === 2, 'live')
  await publish('dashboard')
  await publish('chat')
  await first.until((c) => c.events.length === 2)
  const cursor = first.lastEventId
  first.close()
  await until(() => app.sse.metrics().subscribers === 0, 'the drop')
  for (let i = 0; i < 4; i++) await publish('chat') // past chat's retention of 2
  await publish('dashboard')
  const second = await sseClient(port, '/events?topics=dashboard,chat', cursor)
  t.teardown(() => second.close())
  await second.until((c) => c.events.length === 2)
  const chat = ofTopic(second.events, 'chat')
  const dashboard = ofTopic(second.events, 'dashboard')
  t.equal(chat.length, 1)
  t.equal(chat[0].type, 'reset')
  t.equal(chat[0].data.reason, 'trimmed')
  t.same(dashboard.map((e) => e.data.n), [7], 'dashboard replayed what it missed, no reset')
  t.same(app.sse.metrics().resets.trimmed, 1)
})

test('changing the set keeps the positions of the topics still asked for, starts new ones at their head, forgets the rest', async (t) => {
  const { app, publish, chat } = await topicsApp(t)
  const port = await listen(app)
  const first = await sseClient(port, '/events?topics=dashboard,bell&user=ann')
  await until(() => app.sse.metrics().subscribers === 2, 'live')
  await publish('dashboard')
  await publish('bell', 'ann')
  await first.until((c) => c.events.length === 2)
  const cursor = first.lastEventId
  first.close()
  await until(() => app.sse.metrics().subscribers === 0, 'the drop')
  await publish('bell', 'ann') // missed: replayed
  await publish('chat') // before chat was asked for: not sent
  await publish('dashboard') // dashboard is dropped from the set
  // A new set, the cursor passed as the query parameter (as a page that opens a new EventSource does).
  const second = await sseClient(port, `/events?topics=bell,chat&user=ann&lastEventId=${encodeURIComponent(cursor)}`)
  t.teardown(() => second.close())
  await until(() => app.sse.metrics().subscribers === 2, 'live on the new set')
  await publish('chat')
  await second.until((c) => c.events.length === 2)
  t.same(second.events.map((e) => `${e.type}:${JSON.parse(e.data).n}`), ['bell.e:3', 'chat.e:6'])
  t.equal(parseCursor(second.lastEventId).size, 2, 'the cursor names bell and chat only')
  t.notOk(second.events.some((e) => e.type.startsWith('dashboard.')), 'the dropped topic is forgotten')
  // A topic may start at a position the route gives (e.g. one taken with a snapshot).
  const snapshot = await chat.head()
  await publish('chat')
  const { app: app2 } = await topicsApp(t, {
    store: app.sse.store,
    routes: (app, { chat }) => app.get('/from', (request, reply) => reply.sse.subscribeTopics({ chat: { stream: chat, from: request.query.from } }))
  })
  const port2 = await listen(app2)
  const third = await sseClient(port2, `/from?from=${encodeURIComponent(snapshot)}`)
  t.teardown(() => third.close())
  await third.until((c) => c.events.length === 1)
  t.same(third.events.map((e) => JSON.parse(e.data).n), [7], 'replayed from the given position')
})

test('authorization per topic, before any byte: 403 and 404 as JSON, 400 for an unusable list', async (t) => {
  const { app } = await topicsApp(t)
  const cases = [
    ['/events?topics=dashboard,chat&user=guest', 403, 'FST_SSE_TOPIC_FORBIDDEN'],
    ['/events?topics=dashboard,secret', 404, 'FST_SSE_UNKNOWN_TOPIC'],
    ['/events?topics=__proto__', 404, 'FST_SSE_UNKNOWN_TOPIC'],
    ['/events?topics=dashboard,constructor', 404, 'FST_SSE_UNKNOWN_TOPIC'],
    ['/events?topics=', 400, 'FST_SSE_INVALID_TOPICS'],
    [`/events?topics=${'dashboard,'.repeat(100)}`, 400, 'FST_SSE_INVALID_TOPICS']
  ]
  for (const [url, status, code] of cases) {
    const res = await app.inject({ url, headers: { accept: 'text/event-stream' } })
    t.equal(res.statusCode, status, url.slice(0, 60))
    t.match(res.headers['content-type'], /^application\/json/)
    t.equal(res.json().code, code)
  }
  t.equal(app.sse.metrics().openStreams, 0, 'no stream was opened')
  const ok = await app.inject({ url: '/events?topics=chat&user=ann', headers: { accept: 'text/event-stream' }, payloadAsStream: true })
  t.equal(ok.statusCode, 200)
  ok.stream().destroy()
})

test('a refused topic request gives back the cap slot it took: refusals never fill maxStreams', async (t) => {
  const { app } = await topicsApp(t, { plugin: { maxStreams: 2 } })
  // Each refusal, of each kind, more times than there are slots.
  const refusals = ['/events?topics=dashboard,chat&user=guest', '/events?topics=secret', '/events?topics=']
  for (let round = 0; round < 3; round++) {
    for (const url of refusals) {
      const res = await app.inject({ url, headers: { accept: 'text/event-stream' } })
      t.ok(res.statusCode >= 400 && res.statusCode < 500, `${url}: refused (${res.statusCode})`)
    }
  }
  const open = []
  for (let i = 0; i < 2; i++) {
    const res = await app.inject({ url: '/events?topics=chat&user=ann', headers: { accept: 'text/event-stream' }, payloadAsStream: true })
    t.equal(res.statusCode, 200)
    open.push(res)
  }
  t.equal(app.sse.metrics().openStreams, 2, 'both slots serve streams')
  t.equal(app.sse.metrics().streamsEnded.limit, 0, 'neither was told to come back later')
  for (const res of open) res.stream().destroy()
})

test('authorize runs before the key is derived: a keyed topic may assume a signed-in user', async (t) => {
  const { app } = await topicsApp(t, {
    routes: (app) => {
      const mine = app.sse.stream('mine', {
        key: (request) => {
          if (request.query.user === undefined) throw new Error('no user: authorize must run first')
          return request.query.user
        }
      })
      app.get('/mine', (request, reply) => reply.sse.subscribeTopics({ mine: { stream: mine, authorize: (request) => request.query.user !== undefined } }))
    }
  })
  const refused = await app.inject({ url: '/mine', headers: { accept: 'text/event-stream' } })
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().code, 'FST_SSE_TOPIC_FORBIDDEN')
})

test('mistakes in the topic map are 500s before any byte, with a coded error', async (t) => {
  let maps
  const { app } = await topicsApp(t, {
    routes: (app, { dashboard }) => {
      maps = {
        '/bad-name': { 'a.b': dashboard },
        '/empty': {},
        '/bad-entry': { a: 42 },
        '/bad-option': { a: { stream: dashboard, nope: 1 } },
        '/bad-authorize': { a: { stream: dashboard, authorize: true } },
        '/bad-filter': { a: { stream: dashboard, filter: 'x' } },
        '/bad-from': { a: { stream: dashboard, from: 1 } },
        '/bad-options': [{ a: dashboard }, 'x']
      }
      for (const [path, map] of Object.entries(maps)) {
        app.get(path, (request, reply) => Array.isArray(map) ? reply.sse.subscribeTopics(...map) : reply.sse.subscribeTopics(map))
      }
    }
  })
  for (const path of Object.keys(maps)) {
    const res = await app.inject({ url: path, headers: { accept: 'text/event-stream' } })
    t.equal(res.statusCode, 500, path)
    t.equal(res.json().code, 'FST_SSE_INVALID_SUBSCRIBE_OPTION', path)
  }
})

test('another user\'s cursor: the keyed topic gets a malformed reset, never that user\'s events or position', async (t) => {
  const { app, publish } = await topicsApp(t)
  const port = await listen(app)
  const bob = await sseClient(port, '/events?topics=dashboard,bell&user=bob')
  await until(() => app.sse.metrics().subscribers === 2, 'live')
  await publish('bell', 'bob')
  await publish('bell', 'bob')
  await bob.until((c) => c.events.length === 2)
  bob.close()
  await publish('bell', 'ann')
  await publish('bell', 'bob')
  const ann = await sseClient(port, '/events?topics=dashboard,bell&user=ann', bob.lastEventId)
  t.teardown(() => ann.close())
  await ann.until((c) => c.events.length === 1)
  const bell = ofTopic(ann.events, 'bell')
  t.equal(bell[0].type, 'reset')
  t.equal(bell[0].data.reason, 'malformed')
  await until(() => app.sse.metrics().subscribers === 2, 'ann live')
  await publish('bell', 'ann')
  await ann.until((c) => c.events.length === 2)
  t.same(ofTopic(ann.events, 'bell').filter((e) => e.type === 'event').map((e) => e.data.key), ['ann'])
  t.same(ofTopic(ann.events, 'dashboard'), [], 'dashboard resumed with nothing to replay')
})

test('one bound across topics: live events held while a topic is positioned count together', async (t) => {
  const inner = memoryStore()
  let gate = null
  const store = {
    capabilities: inner.capabilities,
    append: (...a) => inner.append(...a),
    // The dashboard's replay waits on the gate: meanwhile bell and chat hold their live events.
    readAfter: async (key, ...rest) => {
      if (key === 'dashboard' && gate !== null) await gate.promise
      return inner.readAfter(key, ...rest)
    },
    head: (...a) => inner.head(...a),
    subscribe: (...a) => inner.subscribe(...a),
    close: () => inner.close()
  }
  t.teardown(() => inner.close())
  const { app, publish } = await topicsApp(t, { store, plugin: { maxBufferedBytes: 4096 } })
  const port = await listen(app)
  const first = await sseClient(port, '/events?topics=dashboard,bell,chat&user=ann')
  await until(() => app.sse.metrics().subscribers === 3, 'live')
  await publish('dashboard')
  await first.until((c) => c.events.length === 1)
  const cursor = first.lastEventId
  first.close()
  await until(() => app.sse.metrics().subscribers === 0, 'the drop')
  await publish('dashboard')
  let release
  gate = { promise: new Promise((resolve) => { release = resolve }) }
  const second = await sseClient(port, '/events?topics=dashboard,bell,chat&user=ann', cursor)
  t.teardown(() => second.close())
  await until(() => app.sse.metrics().channels === 3, 'attached to every key')
  // 1500 bytes each: 3000 held on either topic alone is under 4096; 6000 across both is not.
  const big = 'x'.repeat(1500)
  await app.sse.publish('bell', { event: 'e', data: big }, { key: 'ann' })
  await app.sse.publish('bell', { event: 'e', data: big }, { key: 'ann' })
  await app.sse.publish('chat', { event: 'e', data: big })
  await app.sse.publish('chat', { event: 'e', data: big })
  await until(() => second.ended, 'the connection is evicted')
  release()
  t.equal(app.sse.metrics().evictions, 1, 'one eviction for the connection')
})

test('order within each topic holds with bursts on every topic at once', async (t) => {
  const { app, publish } = await topicsApp(t)
  const port = await listen(app)
  const client = await sseClient(port, '/events?topics=dashboard,bell,chat&user=ann')
  t.teardown(() => client.close())
  await until(() => app.sse.metrics().subscribers === 3, 'live')
  const sent = { dashboard: [], bell: [], chat: [] }
  const all = []
  for (let i = 0; i < 60; i++) {
    const topic = ['dashboard', 'bell', 'chat'][i % 3]
    all.push(publish(topic, 'ann').then((e) => sent[topic].push(e.offset)))
  }
  await Promise.all(all)
  await client.until((c) => c.events.length === 60)
  for (const topic of Object.keys(sent)) {
    const got = ofTopic(client.events, topic).map((e) => e.data.n)
    t.same(got, [...got].sort((a, b) => a - b), `${topic} in publish order`)
    t.equal(got.length, 20)
  }
})

test('connections that share a topic but not the rest of their set each get their own cursor', async (t) => {
  const { app, publish } = await topicsApp(t)
  const port = await listen(app)
  const sets = ['dashboard,bell', 'dashboard,chat', 'bell,dashboard', 'dashboard,bell', 'dashboard']
  const clients = []
  for (const set of sets) clients.push(await sseClient(port, `/events?topics=${set}&user=${set === 'dashboard,bell' && clients.length > 0 ? 'bob' : 'ann'}`))
  t.teardown(() => clients.forEach((c) => c.close()))
  await until(() => app.sse.metrics().subscribers === 9, 'every client live')
  await publish('bell', 'ann')
  await publish('chat')
  const stored = await publish('dashboard')
  await Promise.all(clients.map((c) => c.until((c) => c.events.some((e) => e.type === 'dashboard.e'))))
  const heads = {
    dashboard: await app.sse.store.head('dashboard'),
    'bell:ann': await app.sse.store.head('bell:ann'),
    'bell:bob': await app.sse.store.head('bell:bob'),
    chat: await app.sse.store.head('chat')
  }
  t.equal(heads.dashboard, stored.id)
  for (const [i, c] of clients.entries()) {
    const names = sets[i].split(',')
    const user = sets[i] === 'dashboard,bell' && i > 0 ? 'bob' : 'ann'
    const cursor = c.events.find((e) => e.type === 'dashboard.e').lastEventId
    const entries = cursor.split(',')
    t.equal(entries.length, names.length, `${sets[i]}: one entry per topic`)
    const positions = entries.map((e) => `${e.slice(6, e.indexOf('.'))}:${parseInt(e.slice(e.indexOf('.') + 1), 36)}`)
    t.same(positions, names.map((n) => heads[n === 'bell' ? `bell:${user}` : n]), `${sets[i]} (${user}): each entry at its own topic's head, in the order asked`)
  }
})

test('per topic: a filter moves the cursor past what it drops, and onReset sends a snapshot under the topic\'s name', async (t) => {
  const { app, publish } = await topicsApp(t, {
    routes: (app, { chat, dashboard }) => app.get('/filtered', (request, reply) => reply.sse.subscribeTopics({
      dashboard,
      chat: {
        stream: chat,
        filter: (event) => event.data.n % 2 === 0,
        onReset: ({ send }) => { send({ event: 'e', data: { topic: 'chat', key: null, n: 0, snapshot: true } }) }
      }
    }))
  })
  const port = await listen(app)
  const client = await sseClient(port, '/filtered', 'not a cursor')
  t.teardown(() => client.close())
  await client.until((c) => c.events.length === 3)
  t.same(client.events.map((e) => e.type), ['dashboard.reset', 'chat.reset', 'chat.e'], 'two notices, then the snapshot')
  t.same(JSON.parse(client.events[2].data).snapshot, true)
  await until(() => app.sse.metrics().subscribers === 2, 'live')
  const odd = await publish('chat') // n 1: filtered out
  await until(() => parseCursor(client.lastEventId).size === 2 && [...parseCursor(client.lastEventId).values()].some((e) => e.offset === odd.offset && `${e.epoch}:${e.offset}` === odd.id), 'the cursor moved past the filtered event')
  const even = await publish('chat') // n 2: delivered
  await client.until((c) => c.events.length === 4)
  t.same(JSON.parse(client.events[3].data).n, 2)
  t.ok([...parseCursor(client.events[3].lastEventId).values()].some((e) => `${e.epoch}:${e.offset}` === even.id), 'its id holds chat at that event')
})
