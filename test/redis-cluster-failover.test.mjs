// Failover on a real Redis Cluster, with both cluster clients and two Fastify instances, while a
// publisher posts to streams on all three shards: a primary killed with SIGKILL (its replica
// is promoted), and a planned `CLUSTER FAILOVER` on a replica. The promoted node has another
// run id, so the epoch guard starts a new epoch for each stream of that shard: every client of
// such a stream gets exactly one `epoch` reset and then live events; clients of the other
// shards' streams get every event, with no reset and no failed publish.
import t0, { test } from 'tap'
import { redisStore } from 'fastify-typed-sse/redis'
import { build, listen } from './helpers/app.mjs'
import { CLIENTS, asItems, invariantProblems, requireRedisServer } from './helpers/redis-server.mjs'
import { publishThrough, startCluster } from './helpers/redis-cluster.mjs'
import { until } from './helpers/wait.mjs'

const failOn = (err) => t0.fail(String(err?.stack ?? err))
process.on('unhandledRejection', failOn)
process.on('uncaughtException', failOn)

if (requireRedisServer(t0)) {
  const cluster = await startCluster()
  t0.teardown(() => cluster.stop())
  const lib = { build, listen, redisStore }
  let runs = 0

  function check (t, { streams, hit, clients, published, failed, reasons, window }) {
    // The longest wait between two events on a stream of another shard while the failover
    // ran: each of those streams is published to every 20 ms; the failed-over shard is
    // silent for seconds (the node timeout is 2 s).
    let longest = 0
    for (const c of clients) {
      if (hit.includes(c.stream)) continue
      const times = c.conn.times.filter((at) => at >= window.from && at <= window.to)
      for (let i = 1; i < times.length; i++) longest = Math.max(longest, times[i] - times[i - 1])
    }
    t.ok(longest < 1500, `streams on the other shards never paused 1.5 s (longest gap ${longest} ms over ${window.to - window.from} ms)`)
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

  for (const [k, kind] of CLIENTS.entries()) {
    test(`${kind}: a primary killed mid-run: one epoch reset per stream of its shard, none elsewhere`, async (t) => {
      const result = await publishThrough(t, kind, cluster, lib, { prefix: `f${++runs}:`, index: k }, async (shard) => {
        await cluster.node(shard.port).kill('SIGKILL')
      })
      check(t, result)
      // Each client kind kills the primary of another shard: the dead node stays down.
      await cluster.settled()
    })

    test(`${kind}: a planned CLUSTER FAILOVER mid-run: one epoch reset per stream of that shard, none elsewhere`, async (t) => {
      // The shard no kill touched; after the first planned failover its replica is the demoted
      // primary, which must have caught up before it can be promoted again.
      const target = (await cluster.shards()).sort((x, y) => x.from - y.from)[2]
      await until(async () => /master_link_status:up/.test(await cluster.command(target.replicas[0], 'INFO', 'replication')), 'the replica in sync', 20_000)
      const result = await publishThrough(t, kind, cluster, lib, { prefix: `f${++runs}:`, index: 2 }, async (shard) => {
        const replica = shard.replicas[0]
        await cluster.command(replica, 'CLUSTER', 'FAILOVER')
        await until(async () => (await cluster.ownerOf(shard.from)) === replica, 'the replica is promoted')
      })
      check(t, result)
      await cluster.settled()
    })
  }
}
