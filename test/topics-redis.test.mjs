// Many topics over one stream on the Redis store, against a real redis-server: an undici
// EventSource resumes every topic across a dropped socket, across instances and across a
// restart of its instance; a reconnect storm of 400 clients with 5 topics each reads the log
// at most once per topic cursor.
import t0, { test } from 'tap'
import Fastify from 'fastify'
import { EventSource } from 'undici'
import { redisStore } from 'fastify-typed-sse/redis'
import { CLIENTS, connectClient, openEventStream, requireRedisServer, startRedis, statsDelta } from './helpers/redis-server.mjs'
import { ofTopic, topicsApp } from './helpers/topics.mjs'
import { until } from './helpers/wait.mjs'

if (requireRedisServer(t0)) {
  const redis = await startRedis()
  t0.teardown(() => redis.stop())
  let n = 0

  /** An instance of the topics app on Redis under `prefix`; its store and client close after it. */
  async function instance (t, kind, prefix, options = {}) {
    const conn = await connectClient(kind, redis.port)
    const store = redisStore({ client: conn.client, prefix, positionCheckMs: 0 })
    // Counts the plugin's reads, whatever the store answers them from.
    const readAfter = store.readAfter.bind(store)
    store.readCalls = 0
    store.readAfter = (...args) => { store.readCalls++; return readAfter(...args) }
    const app = Fastify()
    const instance = await topicsApp(t, { store, app, plugin: { retryMs: 50 }, ...options })
    let closed
    const close = () => (closed ??= (async () => { await app.close(); await store.close(); await conn.close() })())
    t.teardown(close)
    return { ...instance, store, close }
  }

  for (const kind of CLIENTS) {
    test(`${kind}: every topic resumes across a dropped socket, on another instance, and after a restart`, async (t) => {
      const prefix = `tt${++n}:`
      const a = await instance(t, kind, prefix)
      const b = await instance(t, kind, prefix)
      const sockets = new Set()
      a.app.server.on('connection', (socket) => { sockets.add(socket); socket.on('close', () => sockets.delete(socket)) })
      await a.app.listen({ port: 0, host: '127.0.0.1' })
      const port = a.app.server.address().port
      const es = new EventSource(`http://127.0.0.1:${port}/events?topics=dashboard,bell,chat&user=ann`)
      t.teardown(() => es.close())
      const got = []
      for (const topic of ['dashboard', 'bell', 'chat']) {
        for (const name of ['e', 'reset']) es.addEventListener(`${topic}.${name}`, (e) => got.push({ type: e.type, data: e.data, lastEventId: e.lastEventId }))
      }
      await until(() => a.app.sse.metrics().subscribers === 3, 'live on instance a')
      // Published on the other instance: delivered through Redis.
      await b.publish('dashboard')
      await b.publish('bell', 'ann')
      await until(() => got.length === 2, 'the first events')
      for (const socket of sockets) socket.destroy()
      await until(() => a.app.sse.metrics().subscribers === 0, 'the drop')
      await b.publish('chat')
      await b.publish('bell', 'bob')
      await b.publish('bell', 'ann')
      await until(() => got.length === 4, 'the missed events after the drop')

      // A restart of instance a: a new app, store and client on the same port and prefix.
      await a.close()
      await b.publish('dashboard')
      await b.publish('chat')
      const a2 = await instance(t, kind, prefix)
      await a2.app.listen({ port, host: '127.0.0.1' })
      await until(() => got.length === 6, 'the events published during the restart')
      await until(() => a2.app.sse.metrics().subscribers === 3, 'live on the restarted instance')
      await b.publish('bell', 'ann')
      await until(() => got.length === 7, 'live after the restart')

      // The last cursor, taken to instance b: the same positions hold there.
      const cursor = got.at(-1).lastEventId
      await b.publish('dashboard')
      await b.app.listen({ port: 0, host: '127.0.0.1' })
      const onB = openEventStream(`http://127.0.0.1:${b.app.server.address().port}/events?topics=dashboard,bell,chat&user=ann`, cursor)
      t.teardown(() => onB.close())
      await until(() => onB.received.length === 1, 'the one event missed, from instance b')
      t.same(onB.received.map((e) => [e.type, JSON.parse(e.data).n]), [['dashboard.e', 9]])
      await until(() => got.length === 8, 'the EventSource gets it live')

      const ns = (topic) => ofTopic(got, topic).map((e) => `${e.type}:${e.data.n}:${e.data.key}`)
      t.same(ns('dashboard'), ['event:1:null', 'event:6:null', 'event:9:null'], 'dashboard: each once, in order, no reset')
      t.same(ns('bell'), ['event:2:ann', 'event:5:ann', 'event:8:ann'], 'bell: ann\'s only')
      t.same(ns('chat'), ['event:3:null', 'event:7:null'], 'chat')
    })

    test(`${kind}: a reconnect storm of 400 clients with 5 topics each reads the log at most once per topic cursor`, async (t) => {
      const prefix = `tt${++n}:`
      const TOPICS = ['t1', 't2', 't3', 't4', 't5']
      const streams = {}
      const inst = await instance(t, kind, prefix, {
        routes: (app) => {
          for (const name of TOPICS) streams[name] = app.sse.stream(name, { replay: { maxEvents: 20_000 } })
          app.get('/five', (request, reply) => reply.sse.subscribeTopics(streams))
        }
      })
      await inst.app.listen({ port: 0, host: '127.0.0.1' })
      const url = `http://127.0.0.1:${inst.app.server.address().port}/five`
      const published = Object.fromEntries(TOPICS.map((name) => [name, []]))
      // A client already on every topic keeps each key subscribed, and the read script is loaded.
      const settled = openEventStream(url)
      t.teardown(() => settled.close())
      await until(() => inst.app.sse.metrics().subscribers === 5, 'the first client is live')
      for (let i = 1; i <= 10; i++) {
        for (const name of TOPICS) published[name].push(await streams[name].publish({ data: `${name} ${i}` }))
      }
      await until(() => settled.received.length === 50, 'the first client has every event')
      // Its cursor after the sixth event of every topic: four behind on each.
      const cursor = settled.received.filter((e) => e.type === 't5.message')[5].lastEventId
      const N = 400
      const before = await redis.commandStats()
      const readsBefore = inst.store.readCalls
      const clients = Array.from({ length: N }, () => openEventStream(url, cursor))
      t.teardown(() => clients.forEach((c) => c.close()))
      await until(() => clients.every((c) => c.received.length >= 20), 'every client replays the 4 missed events of each topic', 30_000)
      const storm = statsDelta(before, await redis.commandStats())
      const expected = (c) => TOPICS.every((name) => c.received.filter((e) => e.type === `${name}.message`).map((e) => e.data).join() === published[name].slice(6).map((_, i) => `${name} ${i + 7}`).join())
      const wrong = clients.filter((c) => c.status !== 200 || c.ended || c.received.length !== 20 || !expected(c))
      t.equal(wrong.length, 0, `all ${N} clients: exactly the missed events of each topic, in order, still open`)
      t.notOk(clients.some((c) => c.received.some((e) => e.type.endsWith('.reset'))), 'no reset')
      t.equal(inst.store.readCalls - readsBefore, N * TOPICS.length, `one store read per topic cursor (${N} clients x ${TOPICS.length} topics)`)
      t.equal(storm.eval ?? 0, 0, 'no EVAL fallback')
      t.ok((storm.evalsha ?? 0) <= N * TOPICS.length, `at most one read per topic cursor (${storm.evalsha ?? 0} for ${N * TOPICS.length})`)
      // Every key is subscribed here, so replays are answered from what this instance delivered.
      t.ok((storm.evalsha ?? 0) <= 3 * TOPICS.length, `a small constant number of log reads per topic (${storm.evalsha ?? 0})`)

      const beforeLive = await redis.commandStats()
      const live = await streams.t3.publish({ data: 'live' })
      await until(() => clients.every((c) => c.received.length === 21), 'every client receives the live event', 15_000)
      const after = statsDelta(beforeLive, await redis.commandStats())
      t.equal(after.evalsha, 1, 'one script call: the append')
      t.ok(clients.every((c) => c.received.at(-1).type === 't3.message' && c.received.at(-1).data === 'live'), `the live event ${live.id} reached every client`)
    })
  }
}
