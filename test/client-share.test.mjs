// The client's `share` option outside a browser, against a real server and undici's
// EventSource. Node 24 and later have Web Locks (`navigator.locks`) and BroadcastChannel, so
// clients in one process form a group exactly as tabs do: one connection, every event once
// in each client, hand-over from the last event when the holder closes. Where Node has no Web
// Locks (20, 22) `share` falls back to a connection per client, as a page without them does,
// for one stream and for many topics.
import t0, { test } from 'tap'
import { Type } from '@sinclair/typebox'
import { EventSource } from 'undici'
import { createSseClient, createTopicsClient } from 'fastify-typed-sse/client'
import { build, listen } from './helpers/app.mjs'
import { topicsApp } from './helpers/topics.mjs'
import { until } from './helpers/wait.mjs'

const escaped = []
process.on('unhandledRejection', (err) => escaped.push(err))
process.on('uncaughtException', (err) => escaped.push(err))
t0.teardown(() => {
  if (escaped.length > 0) throw new Error(`escaped: ${escaped.map(String).join(', ')}`)
})

const hasLocks = typeof globalThis.navigator?.locks?.request === 'function' && typeof BroadcastChannel === 'function'

/** A replayed topic of numbered events on a listening server, and what it takes to drive it. */
async function server (t) {
  const app = await build(t)
  const feed = app.sse.stream('feed', { events: { tick: Type.Object({ n: Type.Integer() }) } })
  app.get('/feed', (request, reply) => reply.sse.subscribe(feed))
  const port = await listen(app)
  const published = []
  return {
    app,
    url: `http://127.0.0.1:${port}/feed`,
    async publish () {
      const n = published.length + 1
      const { id } = await feed.publish({ event: 'tick', data: { n } })
      published.push({ id, n })
    },
    published
  }
}

/** A client that records its ticks; `heartbeatMs` short, so a test does not wait for seconds. */
function client (t, url, share = { heartbeatMs: 200 }) {
  const c = createSseClient(url, { EventSource, share })
  const seen = []
  c.on('tick', (data, message) => seen.push({ id: message.lastEventId, n: data.n }))
  t.teardown(() => c.close())
  return { c, seen }
}

// A client without a start position starts live: tests publish once the connection is open.
const caughtUp = (clients, published) => until(() => clients.every(({ seen }) => seen.length >= published.length), 'every client to see every event')

if (!hasLocks) {
  test(`share without Web Locks (Node ${process.version}): each client has its own connection, as before`, async (t) => {
    const s = await server(t)
    const clients = [client(t, s.url), client(t, s.url)]
    t.same(clients.map(({ c }) => c.sharing), ['off', 'off'], 'sharing is off')
    await until(() => s.app.sse.metrics().subscribers === 2, 'two connections')
    for (let i = 0; i < 5; i++) await s.publish()
    await caughtUp(clients, s.published)
    for (const { seen } of clients) t.same(seen, s.published, 'every event once, in order')
  })
  test(`share without Web Locks (Node ${process.version}), many topics: a connection per client, each with its own topics`, async (t) => {
    const { app, publish } = await topicsApp(t)
    await app.listen({ port: 0, host: '127.0.0.1' })
    const url = `http://127.0.0.1:${app.server.address().port}/events?user=ann`
    const clients = [['dashboard'], ['bell', 'chat']].map((topics) => {
      const c = createTopicsClient(url, { EventSource, topics, share: true })
      t.teardown(() => c.close())
      const seen = []
      for (const topic of ['dashboard', 'bell', 'chat']) c.on(topic, 'e', (data) => seen.push(`${data.topic}:${data.n}`))
      return { c, seen }
    })
    t.same(clients.map(({ c }) => c.sharing), ['off', 'off'], 'sharing is off')
    await until(() => app.sse.metrics().openStreams === 2 && app.sse.metrics().subscribers === 3, 'two connections, three topics')
    for (const topic of ['dashboard', 'bell', 'chat']) await publish(topic, 'ann')
    await until(() => clients[0].seen.length >= 1 && clients[1].seen.length >= 2, 'the events')
    t.same(clients.map(({ seen }) => seen), [['dashboard:1'], ['bell:2', 'chat:3']], 'each its own topics')
  })
} else {
  test('clients of one process share one connection; every event reaches each once, in order', async (t) => {
    const s = await server(t)
    const clients = [client(t, s.url), client(t, s.url), client(t, s.url)]
    await until(() => clients.filter(({ c }) => c.sharing === 'leader').length === 1, 'one leader')
    t.equal(clients.filter(({ c }) => c.sharing === 'follower').length, 2, 'two followers')
    await until(() => clients.every(({ c }) => c.source.readyState === 1), 'every client to see the connection open')
    for (let i = 0; i < 10; i++) await s.publish()
    await caughtUp(clients, s.published)
    for (const { seen } of clients) t.same(seen, s.published, 'every event once, in order')
    t.equal(s.app.sse.metrics().subscribers, 1, 'one connection on the server')
  })

  test('the leader closes: a follower takes over from the last event, nothing lost or repeated', async (t) => {
    const s = await server(t)
    const clients = [client(t, s.url), client(t, s.url), client(t, s.url)]
    await until(() => clients.every(({ c }) => c.source.readyState === 1), 'every client to see the connection open')
    for (let i = 0; i < 5; i++) await s.publish()
    await caughtUp(clients, s.published)
    const leader = clients.find(({ c }) => c.sharing === 'leader')
    const rest = clients.filter((one) => one !== leader)
    leader.c.close()
    t.equal(leader.c.source.readyState, 2, 'the closed client is CLOSED')
    // Published while no client holds the connection: the next leader's connection replays them.
    for (let i = 0; i < 5; i++) await s.publish()
    await until(() => rest.some(({ c }) => c.sharing === 'leader'), 'a new leader')
    for (let i = 0; i < 5; i++) await s.publish()
    await caughtUp(rest, s.published)
    for (const { seen } of rest) t.same(seen, s.published, 'every event once, in order, across the hand-over')
    await until(() => s.app.sse.metrics().subscribers === 1, 'one connection again')
  })

  test('a client that starts from a position the group has passed is brought there from the recent events', async (t) => {
    const s = await server(t)
    const first = client(t, s.url)
    await until(() => first.c.sharing === 'leader' && first.c.source.readyState === 1, 'the first client to lead')
    for (let i = 0; i < 6; i++) await s.publish()
    await caughtUp([first], s.published)
    // As a page that loaded a snapshot at event 3 and subscribes from there.
    const late = client(t, `${s.url}?lastEventId=${encodeURIComponent(s.published[2].id)}`)
    await until(() => late.seen.length >= 3, 'the late client to catch up')
    for (let i = 0; i < 3; i++) await s.publish()
    await caughtUp([first], s.published)
    await until(() => late.seen.length >= 6, 'the late client to go on live')
    t.same(late.seen, s.published.slice(3), 'the events after its position, once each, in order')
    t.equal(late.c.sharing, 'follower', 'it joined the group')
    t.equal(s.app.sse.metrics().subscribers, 1, 'still one connection')
  })

  test('a start the group cannot bring a client to (older than its recent events): the client goes alone, from there', async (t) => {
    const s = await server(t)
    for (let i = 0; i < 3; i++) await s.publish()
    const first = client(t, s.url)
    await until(() => first.c.sharing === 'leader' && first.c.source.readyState === 1, 'the first client to lead')
    for (let i = 0; i < 3; i++) await s.publish()
    await caughtUp([{ seen: first.seen }], s.published.slice(3))
    const old = client(t, `${s.url}?lastEventId=${encodeURIComponent(s.published[0].id)}`)
    await until(() => old.c.sharing === 'off', 'the client to leave the group', 5_000)
    await until(() => s.app.sse.metrics().subscribers === 2, 'its own connection')
    await s.publish()
    await until(() => old.seen.length >= 6, 'the replay and the live event')
    t.same(old.seen, s.published.slice(1), 'replayed from its own position by the server, then live')
  })

  /** The many-topic app of the topics tests, and clients of it that record `topic:n` of each event. */
  async function topicsServer (t) {
    const server = await topicsApp(t)
    await server.app.listen({ port: 0, host: '127.0.0.1' })
    const url = `http://127.0.0.1:${server.app.server.address().port}/events?user=ann`
    const published = []
    const ids = new Map()
    return {
      ...server,
      async send (topic) {
        const { id } = await server.publish(topic, 'ann')
        published.push(`${topic}:${published.length + 1}`)
        ids.set(published.at(-1), id)
      },
      published,
      client (topics) {
        const c = createTopicsClient(url, { EventSource, topics, share: { heartbeatMs: 200 } })
        const seen = []
        const positions = []
        for (const topic of ['dashboard', 'bell', 'chat']) {
          c.on(topic, 'e', (data, message) => {
            seen.push(`${data.topic}:${data.n}`)
            positions.push(message.position === ids.get(seen.at(-1)))
          })
        }
        t.teardown(() => c.close())
        return { c, seen, topics, positions }
      }
    }
  }
  const expected = (published, topics, from = 0) => published.slice(from).filter((e) => topics.includes(e.slice(0, e.indexOf(':'))))

  test('many topics: one connection carries every topic the clients ask for; each sees exactly its own', async (t) => {
    const s = await topicsServer(t)
    const clients = [s.client(['dashboard']), s.client(['bell']), s.client(['dashboard', 'chat'])]
    await until(() => clients.every(({ c }) => c.source.readyState === 1) && s.app.sse.metrics().subscribers === 3, 'the union of the topics live')
    t.equal(s.app.sse.metrics().openStreams, 1, 'one connection')
    for (const topic of ['dashboard', 'bell', 'chat', 'bell', 'dashboard', 'chat', 'dashboard']) await s.send(topic)
    await until(() => clients.every(({ seen, topics }) => seen.length >= expected(s.published, topics).length), 'every event')
    for (const { seen, topics } of clients) t.same(seen, expected(s.published, topics), `${topics}: its topics' events, once each, in order`)
    // The connection lists bell, chat, dashboard; each client's own order differs.
    for (const { positions, topics } of clients) t.ok(positions.every(Boolean), `${topics}: each message's position is its topic's own id`)
    t.same(clients.map(({ c }) => c.sharing).sort(), ['follower', 'follower', 'leader'])
  })

  test('many topics: a client joining with a new topic gets it; the others keep their positions', async (t) => {
    const s = await topicsServer(t)
    const clients = [s.client(['dashboard']), s.client(['dashboard'])]
    await until(() => clients.every(({ c }) => c.source.readyState === 1), 'live')
    for (let i = 0; i < 3; i++) await s.send('dashboard')
    await s.send('bell') // before anyone asks for bell
    const joiner = s.client(['bell'])
    const from = s.published.length
    // Published while the connection moves to the new set: the cursor brings the dashboard on.
    for (let i = 0; i < 3; i++) await s.send('dashboard')
    await until(() => s.app.sse.metrics().subscribers === 2 && s.app.sse.metrics().openStreams === 1, 'the connection to carry both topics')
    for (const topic of ['bell', 'dashboard', 'bell']) await s.send(topic)
    const all = [...clients, { ...joiner, from }]
    await until(() => all.every(({ seen, topics, from }) => seen.length >= expected(s.published, topics, from).length), 'every event')
    for (const { seen, topics } of clients) t.same(seen, expected(s.published, topics), `${topics}: every event across the change, once, in order`)
    t.same(joiner.seen, expected(s.published, ['bell'], from), 'the joiner: its topic from when it joined')
    t.equal(joiner.c.sharing, 'follower', 'the joiner is fed by the group')
  })

  test('many topics: the leader closes; the next one carries every topic still asked for, from the cursor', async (t) => {
    const s = await topicsServer(t)
    const clients = [s.client(['dashboard', 'bell']), s.client(['bell']), s.client(['chat'])]
    await until(() => clients.every(({ c }) => c.source.readyState === 1) && s.app.sse.metrics().subscribers === 3, 'live')
    for (const topic of ['dashboard', 'bell', 'chat']) await s.send(topic)
    await until(() => clients.every(({ seen, topics }) => seen.length >= expected(s.published, topics).length), 'the first events')
    const leader = clients.find(({ c }) => c.sharing === 'leader')
    leader.c.close()
    const rest = clients.filter((one) => one !== leader)
    for (const topic of ['chat', 'bell', 'dashboard', 'chat', 'bell']) await s.send(topic)
    await until(() => rest.some(({ c }) => c.sharing === 'leader'), 'a new leader')
    for (const topic of ['bell', 'chat']) await s.send(topic)
    await until(() => rest.every(({ seen, topics }) => seen.length >= expected(s.published, topics).length), 'every event')
    for (const { seen, topics } of rest) t.same(seen, expected(s.published, topics), `${topics}: every event across the hand-over, once, in order`)
  })
}
