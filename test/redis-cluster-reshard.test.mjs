// Resharding on a real Redis Cluster, with both cluster clients and two Fastify instances: the
// slot of a stream being published to moves to another primary mid-run (`CLUSTER SETSLOT …
// IMPORTING/MIGRATING`, `MIGRATE`, `CLUSTER SETSLOT … NODE`). Publishes follow MOVED/ASK (and
// are tried again on TRYAGAIN), the sharded subscriptions Redis ends on the old owner are made
// again on the new one, and the gap is repaired from the log. The new owner has another run id,
// so the epoch guard starts a new epoch for the migrated stream (it cannot tell a migration
// from a failover): its clients get every event of the old epoch, one `epoch` reset, then every
// event after the new head; clients of other streams get every event, with no reset.
import t0, { test } from 'tap'
import { redisStore } from 'fastify-typed-sse/redis'
import { build, listen } from './helpers/app.mjs'
import { CLIENTS, asItems, invariantProblems, requireRedisServer } from './helpers/redis-server.mjs'
import { channelOf, publishThrough, startCluster } from './helpers/redis-cluster.mjs'
import { until } from './helpers/wait.mjs'

const failOn = (err) => t0.fail(String(err?.stack ?? err))
process.on('unhandledRejection', failOn)
process.on('uncaughtException', failOn)

/** Moves `slot` from the primary on `from` to the one on `to`, keys and all, as redis-cli --cluster reshard does. */
async function migrateSlot (cluster, slot, from, to) {
  const id = async (port) => String(await cluster.command(port, 'CLUSTER', 'MYID'))
  const [fromId, toId] = await Promise.all([id(from), id(to)])
  await cluster.command(to, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', fromId)
  await cluster.command(from, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', toId)
  for (;;) {
    const keys = await cluster.command(from, 'CLUSTER', 'GETKEYSINSLOT', slot, 100)
    if (keys.length === 0) break
    await cluster.command(from, 'MIGRATE', '127.0.0.1', to, '', 0, 5000, 'KEYS', ...keys)
  }
  await cluster.command(to, 'CLUSTER', 'SETSLOT', slot, 'NODE', toId)
  await cluster.command(from, 'CLUSTER', 'SETSLOT', slot, 'NODE', toId)
}

if (requireRedisServer(t0)) {
  const cluster = await startCluster({ replicas: 0 })
  t0.teardown(() => cluster.stop())
  const lib = { build, listen, redisStore }
  let runs = 0

  for (const [k, kind] of CLIENTS.entries()) {
    test(`${kind}: the slot of an active stream migrates to another primary mid-run: no loss, no duplicate, at most one reset`, async (t) => {
      const prefix = `r${++runs}:`
      let moved
      const result = await publishThrough(t, kind, cluster, lib, { prefix, index: k, perShard: 1 }, async (shard, { hit }) => {
        const shards = (await cluster.shards()).sort((x, y) => x.from - y.from)
        moved = { slot: hit[0].slot, from: shard.port, to: shards[(k + 1) % shards.length].port }
        await migrateSlot(cluster, moved.slot, moved.from, moved.to)
      })
      const { streams, hit, clients, published, failed } = result
      t.equal(await cluster.ownerOf(moved.slot), moved.to, 'the slot is served by the other primary now')
      for (const [i, c] of clients.entries()) {
        const received = c.conn.received
        const ids = received.map((e) => e.lastEventId)
        const expected = published.get(c.stream.name)
        const resets = received.filter((e) => e.type === 'reset')
        let want = expected
        if (hit.includes(c.stream) && resets.length === 1) {
          // Every event up to the reset, then every event after the new head.
          const at = received.indexOf(resets[0])
          const [epoch, from] = resets[0].lastEventId.split(':')
          want = [...expected.filter((id) => !id.startsWith(epoch + ':')).slice(0, at), resets[0].lastEventId,
            ...expected.filter((id) => id.startsWith(epoch + ':') && Number(id.split(':')[1]) > Number(from))]
          t.equal(JSON.parse(resets[0].data).reason, 'epoch', `client ${i}: an epoch reset`)
        }
        if (ids.join() !== want.join() || invariantProblems(asItems(received)).length > 0 || resets.length > (hit.includes(c.stream) ? 1 : 0)) {
          t.fail(`client ${i} on ${c.stream.name}: every event once, in order`, { ids, want })
        }
      }
      t.pass(`all ${clients.length} clients: every event of their stream once, in order; a reset only on the migrated stream`)
      for (const s of streams) t.equal(failed.get(s.name), 0, `${s.name}: every publish succeeded`)
      const channel = channelOf(prefix, 's:' + hit[0].name)
      await until(async () => (await cluster.command(moved.to, 'PUBSUB', 'SHARDNUMSUB', channel))[1] === 2, 'both instances subscribed on the new owner')
      t.same(await cluster.command(moved.from, 'PUBSUB', 'SHARDNUMSUB', channel), [channel, 0], 'and none left on the old one')
    })
  }
}
