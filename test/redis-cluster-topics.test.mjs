// Many topics over one connection on a real Redis Cluster (3 primaries + 3 replicas), with both
// cluster clients and two Fastify instances: six topics on streams owned by all three primaries,
// published through both instances, arrive once and in order per topic on one connection; after
// a drop, the composite cursor resumes on the other instance and each topic replays exactly
// what it missed (none, for one of them), then goes on live.
import t0, { test } from 'tap'
import { parseCursor } from 'fastify-typed-sse'
import { redisStore } from 'fastify-typed-sse/redis'
import { build, listen } from './helpers/app.mjs'
import { CLIENTS, openEventStream, requireRedisServer } from './helpers/redis-server.mjs'
import { channelOf, connectCluster, slotOf, startCluster } from './helpers/redis-cluster.mjs'
import { until } from './helpers/wait.mjs'

const failOn = (err) => t0.fail(String(err?.stack ?? err))
process.on('unhandledRejection', failOn)
process.on('uncaughtException', failOn)

if (requireRedisServer(t0)) {
  const cluster = await startCluster()
  t0.teardown(() => cluster.stop())
  let runs = 0

  /** Stream names under `prefix`, `perShard` on each primary (by slot order): [{ name, slot, port }]. */
  async function topicsOnShards (prefix, perShard) {
    const shards = (await cluster.shards()).sort((x, y) => x.from - y.from)
    const out = []
    for (const [s, shard] of shards.entries()) {
      let found = 0
      for (let i = 0; found < perShard; i++) {
        const name = `f${s}x${i}`
        const slot = slotOf(channelOf(prefix, name))
        if (slot >= shard.from && slot <= shard.to) { out.push({ name, slot, port: shard.port }); found++ }
      }
    }
    return out
  }

  /** One instance on a cluster client of `kind`: a stream per topic, GET /events carrying all of them. */
  async function instance (t, kind, prefix, names, errors) {
    const conn = await connectCluster(kind, cluster)
    const store = redisStore({ client: conn.client, prefix, positionCheckMs: 0, onError: (err) => errors.push(err) })
    const app = await build(t, { store, retryMs: 50 })
    const streams = Object.fromEntries(names.map((name) => [name, app.sse.stream(name)]))
    app.get('/events', (request, reply) => reply.sse.subscribeTopics(streams, { select: request.query.topics }))
    t.teardown(async () => { await app.close(); await store.close(); await conn.close() })
    return { app, streams, base: `http://127.0.0.1:${await listen(app)}` }
  }

  for (const kind of CLIENTS) {
    test(`${kind}: one connection with topics on all three primaries, live and resumed by its cursor`, async (t) => {
      const prefix = `ct${++runs}:`
      const topics = await topicsOnShards(prefix, 2)
      const names = topics.map((s) => s.name)
      // The slot helper agrees with the cluster, and the owners are the three primaries.
      for (const s of topics) {
        t.equal(await cluster.command(s.port, 'CLUSTER', 'KEYSLOT', channelOf(prefix, s.name)), s.slot, `${s.name}: slot ${s.slot}`)
        t.equal(await cluster.ownerOf(s.slot), s.port, `${s.name}: on primary ${s.port}`)
      }
      t.equal(new Set(topics.map((s) => s.port)).size, 3, 'topics on all three primaries')

      const errors = []
      const [a, b] = await Promise.all([instance(t, kind, prefix, names, errors), instance(t, kind, prefix, names, errors)])
      const instances = [a, b]
      const path = `/events?topics=${names.join(',')}`
      const published = new Map(names.map((name) => [name, []]))
      let n = 0
      /** Publishes `count` events to topic `i` from alternating instances; resolves when all are stored. */
      const publishTo = async (i, count) => {
        const name = names[i]
        for (let r = 0; r < count; r++) {
          const data = { topic: name, n: ++n }
          const event = await instances[(r + i) % 2].streams[name].publish({ event: 'e', data })
          published.get(name).push({ id: event.id, n: data.n })
        }
      }
      /** Per topic, in cursor order: [n, that topic's position] of every event received. */
      const perTopic = (received) => names.map((name, i) => received
        .filter((e) => e.type.startsWith(name + '.'))
        .map((e) => {
          const entry = [...parseCursor(e.lastEventId).values()][i]
          return [e.type === `${name}.e` ? JSON.parse(e.data).n : e.type, `${entry.epoch}:${entry.offset}`]
        }))
      const expected = (from) => names.map((name) => published.get(name).slice(from.get(name)).map((e) => [e.n, e.id]))

      const first = openEventStream(a.base + path)
      t.teardown(() => first.close())
      await until(() => first.decoder.lastEventId !== '' && a.app.sse.metrics().subscribers === names.length, 'one connection positioned on every topic')
      t.equal(parseCursor(first.decoder.lastEventId).size, names.length, 'its cursor names every topic')
      // Each primary's streams are subscribed on that primary, by the instance holding the connection.
      for (const port of new Set(topics.map((s) => s.port))) {
        const mine = topics.filter((s) => s.port === port)
        const counts = await cluster.command(port, 'PUBSUB', 'SHARDNUMSUB', ...mine.map((s) => channelOf(prefix, s.name)))
        t.same(counts.filter((_, i) => i % 2 === 1), mine.map(() => 1), `primary ${port}: each of its topics' channels subscribed once`)
      }

      // Three events per topic, the topics published concurrently, each through both instances.
      await Promise.all(names.map((_, i) => publishTo(i, 3)))
      await until(() => first.received.length === 3 * names.length, 'every event on the one connection')
      const start = new Map(names.map((name) => [name, 0]))
      t.same(perTopic(first.received), expected(start), 'every topic: each event once, in order, with its own position')

      // The drop; then topic i misses i events (the first misses none), published through both instances.
      const cursor = first.decoder.lastEventId
      first.close()
      await until(() => a.app.sse.metrics().subscribers === 0, 'the drop')
      const missedFrom = new Map(names.map((name) => [name, published.get(name).length]))
      await Promise.all(names.map((_, i) => publishTo(i, i)))
      const missed = names.reduce((sum, _, i) => sum + i, 0)

      // Resumed on the other instance with the cursor: exactly what each topic missed, then live.
      const resumed = openEventStream(b.base + path, cursor)
      t.teardown(() => resumed.close())
      await until(() => resumed.received.length === missed && b.app.sse.metrics().subscribers === names.length, 'the missed events, replayed on instance b')
      await Promise.all(names.map((_, i) => publishTo(i, 1)))
      await until(() => resumed.received.length === missed + names.length, 'one live event per topic after the replay')
      t.equal(resumed.status, 200, 'the resumed stream answered 200')
      t.same(perTopic(resumed.received), expected(missedFrom), 'every topic: exactly what it missed, then live, in order, no reset')
      t.same(errors.map(String), [], 'no background error')
    })
  }
}
