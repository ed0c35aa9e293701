// Failover on a real Redis Cluster, with both cluster clients and two Fastify instances, while a
// publisher posts to streams on all three shards: a primary killed with SIGKILL (its replica
// is promoted), and a planned `CLUSTER FAILOVER` on a replica. The promoted node has another
// run id, so the epoch guard starts a new epoch for each stream of that shard: every client of
// such a stream gets exactly one `epoch` reset and then live events; clients of the other
// shards' streams get every event, with no reset and no failed publish.
import t0, { test } from 'tap'
import { redisStore } from 'fastify-typed-sse/redis'
import { build, listen } from './helpers/app.mjs'
import { CLIENTS, asItems, invariantProblems, openEventStream, requireRedisServer } from './helpers/redis-server.mjs'
import { clusterInstance, startCluster, streamsOnShards } from './helpers/redis-cluster.mjs'
import { until } from './helpers/wait.mjs'

const failOn = (err) => t0.fail(String(err?.stack ?? err))
process.on('unhandledRejection', failOn)
process.on('uncaughtException', failOn)

if (requireRedisServer(t0)) {
  const cluster = await startCluster()
  t0.teardown(() => cluster.stop())
  const lib = { build, listen, redisStore }
  let runs = 0

  /**
   * Runs a publisher over 6 streams (2 per shard) with 12 clients (one per stream per instance),
   * calls `trigger(shard)` on the shard at `index` once every stream has events, and stops once
   * that shard's streams take publishes again. Returns what the clients and the publisher saw.
   */
  async function failover (t, kind, index, trigger) {
    const prefix = `f${++runs}:`
    const options = { prefix, appendTimeoutMs: 1000 }
    const [a, b] = await Promise.all([clusterInstance(t, kind, cluster, lib, options), clusterInstance(t, kind, cluster, lib, options)])
    const instances = [a, b]
    const streams = await streamsOnShards(cluster, prefix, 2)
    const shard = (await cluster.shards()).sort((x, y) => x.from - y.from)[index]
    const hit = streams.filter((s) => s.port === shard.port)
    const clients = streams.flatMap((s) => instances.map((inst) => ({ stream: s, conn: openEventStream(`${inst.base}/s/${s.name}`) })))
    t.teardown(() => clients.forEach((c) => c.conn.close()))
    await until(() => clients.every((c) => c.conn.decoder.lastEventId !== ''), 'every client positioned', 15_000)

    const published = new Map(streams.map((s) => [s.name, []]))
    const failed = new Map(streams.map((s) => [s.name, 0]))
    const reasons = new Set()
    let round = 0
    let triggered = false
    let afterwards = 0
    // Each round publishes once to every stream, from alternating instances.
    const publishing = (async () => {
      while (afterwards < 10) {
        const r = round++
        await Promise.all(streams.map(async (s, i) => {
          try {
            const event = await instances[(r + i) % 2].stream.publish({ data: { r } }, { key: s.name })
            published.get(s.name).push(event.id)
            if (triggered && hit.includes(s) && i === streams.indexOf(hit[0])) afterwards++
          } catch (err) {
            failed.set(s.name, failed.get(s.name) + 1)
            reasons.add(String(err.message))
          }
        }))
        if (triggered && afterwards === 0) await new Promise((resolve) => setTimeout(resolve, 20))
      }
    })()
    await until(() => round >= 10, 'ten rounds published before the failover')
    await trigger(shard)
    triggered = true
    await publishing
    const last = (s) => published.get(s.name).at(-1)
    try {
      await until(() => clients.every((c) => c.conn.decoder.lastEventId === last(c.stream)), 'every client reaches the last event of its stream', 20_000)
    } catch (err) {
      const behind = clients.filter((c) => c.conn.decoder.lastEventId !== last(c.stream))
      err.message += '\n' + JSON.stringify(behind.map((c) => ({ stream: c.stream.name, hit: hit.includes(c.stream), at: c.conn.decoder.lastEventId, last: last(c.stream), got: c.conn.received.slice(-3).map((e) => [e.type, e.lastEventId]) })), null, 1)
      throw err
    }
    return { streams, hit, clients, published, failed, reasons }
  }

  function check (t, { streams, hit, clients, published, failed, reasons }) {
    for (const [i, c] of clients.entries()) {
      const received = c.conn.received
      const resets = received.filter((e) => e.type === 'reset')
      const problems = invariantProblems(asItems(received))
      if (problems.length > 0) t.fail(`client ${i}: the resume invariant`, { problems })
      if (hit.includes(c.stream)) {
        t.equal(resets.length, 1, `client ${i} on ${c.stream.name} (failed-over shard): exactly one reset`)
        t.equal(JSON.parse(resets[0]?.data ?? '{}').reason, 'epoch', 'an epoch reset')
        // The reset moves the client to the new epoch's head; every later event follows.
        const [epoch, from] = (resets[0]?.lastEventId ?? ':').split(':')
        const after = received.slice(received.indexOf(resets[0]) + 1).map((e) => e.lastEventId)
        t.same(after, published.get(c.stream.name).filter((id) => id.startsWith(epoch + ':') && Number(id.split(':')[1]) > Number(from)),
          'then every event after the new head, once, in order')
      } else {
        t.equal(resets.length, 0, `client ${i} on ${c.stream.name} (other shard): no reset`)
        t.same(received.map((e) => e.lastEventId), published.get(c.stream.name), 'every event, once, in order')
      }
    }
    for (const s of streams) {
      if (!hit.includes(s)) t.equal(failed.get(s.name), 0, `${s.name} (other shard): no publish failed during the failover`)
    }
    t.comment(`publishes refused on the failed-over shard: ${hit.map((s) => failed.get(s.name)).join(', ')} (${[...reasons].join('; ')})`)
  }

  const last = (published, s) => published.get(s.name).at(-1)

  for (const [k, kind] of CLIENTS.entries()) {
    test(`${kind}: a primary killed mid-run: one epoch reset per stream of its shard, none elsewhere`, async (t) => {
      const result = await failover(t, kind, k, async (shard) => {
        await cluster.node(shard.port).kill('SIGKILL')
      })
      check(t, result)
      // The killed node comes back as a replica of the promoted one, for the next failover.
      const killed = cluster.nodes.find((n) => !n.alive())
      await killed.start()
      await cluster.settled({ replicas: true })
    })

    test(`${kind}: a planned CLUSTER FAILOVER mid-run: one epoch reset per stream of that shard, none elsewhere`, async (t) => {
      const result = await failover(t, kind, 2, async (shard) => {
        const replica = shard.replicas[0]
        await cluster.command(replica, 'CLUSTER', 'FAILOVER')
        await until(async () => (await cluster.ownerOf(shard.from)) === replica, 'the replica is promoted')
      })
      check(t, result)
      await cluster.settled({ replicas: true })
    })
  }
}
