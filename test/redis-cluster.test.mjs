// The Redis store on a real Redis Cluster (3 primaries + 3 replicas), with both cluster clients
// and two Fastify instances: the resume invariant for 50 clients over both instances and
// streams on every shard; what each publish costs on each node (one script call on the owning
// primary, SPUBLISH and never PUBLISH); one sharded subscription connection per shard per
// instance; a reconnect storm on one cursor; and how stream keys spread over slots.
import t0, { test } from 'tap'
import { redisStore } from 'fastify-typed-sse/redis'
import { build, listen } from './helpers/app.mjs'
import { CLIENTS, asItems, collect, invariantProblems, openEventStream, requireRedisServer } from './helpers/redis-server.mjs'
import { channelOf, clusterDelta, clusterInstance, connectCluster, post, slotOf, startCluster, streamsOnShards } from './helpers/redis-cluster.mjs'
import { until } from './helpers/wait.mjs'

const failOn = (err) => t0.fail(String(err?.stack ?? err))
process.on('unhandledRejection', failOn)
process.on('uncaughtException', failOn)

if (requireRedisServer(t0)) {
  const cluster = await startCluster()
  t0.teardown(() => cluster.stop())
  const lib = { build, listen, redisStore }
  const ids = (client) => client.received.map((e) => e.lastEventId)
  let runs = 0

  for (const kind of CLIENTS) {
    test(`${kind}: 50 clients over two instances and streams on all three shards keep the resume invariant`, async (t) => {
      const prefix = `c${++runs}:`
      const errors = []
      const options = { prefix, onError: (err) => errors.push(err) }
      const [a, b] = await Promise.all([clusterInstance(t, kind, cluster, lib, options), clusterInstance(t, kind, cluster, lib, options)])
      const bases = [a.base, b.base]
      const streams = await streamsOnShards(cluster, prefix, 2)
      t.equal(new Set(streams.map((s) => s.port)).size, 3, 'streams on all three primaries')

      // 50 clients, alternating instances and streams; each is positioned (the id-only head
      // block) before anything is published.
      const clients = Array.from({ length: 50 }, (_, i) => ({ stream: streams[i % streams.length], conn: openEventStream(`${bases[i % 2]}/s/${streams[i % streams.length].name}`) }))
      t.teardown(() => clients.forEach((c) => c.conn.close()))
      await until(() => clients.every((c) => c.conn.decoder.lastEventId !== ''), 'every client positioned', 15_000)

      // A publisher posts to alternating instances, every stream in turn; meanwhile ten clients
      // leave and resume on the other instance with their last id.
      const perStream = 20
      const published = new Map(streams.map((s) => [s.name, []]))
      const hopped = []
      for (let round = 0; round < perStream; round++) {
        await Promise.all(streams.map(async (s, i) => {
          published.get(s.name).push((await post(bases[(round + i) % 2], s.name, { round })).id)
        }))
        if (round === perStream / 2) {
          for (const [i, c] of clients.slice(0, 10).entries()) {
            c.conn.close()
            hopped.push({ stream: c.stream, before: [...c.conn.received] })
            c.conn = openEventStream(`${bases[(i + 1) % 2]}/s/${c.stream.name}`, c.conn.decoder.lastEventId)
          }
        }
      }
      const last = (s) => published.get(s.name).at(-1)
      await until(() => clients.every((c) => c.conn.decoder.lastEventId === last(c.stream)), 'every client reaches the last event of its stream', 15_000)
      for (const [i, c] of clients.entries()) {
        const received = [...(hopped[i]?.before ?? []), ...c.conn.received]
        const expected = published.get(c.stream.name)
        const got = received.map((e) => e.lastEventId)
        if (got.join() !== expected.join() || invariantProblems(asItems(received)).length > 0) {
          t.fail(`client ${i} on ${c.stream.name}: every event once, in order`, { got, expected })
        }
      }
      t.pass('all 50 clients, hoppers included: every event of their stream once, in order, no reset')
      t.same(errors.map(String), [], 'no background error')

      // One sharded subscription connection per primary per instance, one subscription per stream.
      const shards = await cluster.shards()
      for (const shard of shards) {
        const list = String(await cluster.command(shard.port, 'CLIENT', 'LIST', 'TYPE', 'pubsub'))
        const conns = list.split('\n').filter((line) => line.includes(' ssub=') && !/ ssub=0 /.test(line))
        t.equal(conns.length, 2, `primary ${shard.port}: one sharded subscription connection per instance`)
        const mine = streams.filter((s) => s.port === shard.port)
        const counts = await cluster.command(shard.port, 'PUBSUB', 'SHARDNUMSUB', ...mine.map((s) => channelOf(prefix, 's:' + s.name)))
        t.same(counts.filter((_, i) => i % 2 === 1), mine.map(() => 2), `primary ${shard.port}: each of its streams subscribed once per instance`)
      }
    })

    test(`${kind}: a publish costs one script call on the owning primary, SPUBLISH, never PUBLISH`, async (t) => {
      const prefix = `c${++runs}:`
      const [a, b] = await Promise.all([clusterInstance(t, kind, cluster, lib, { prefix }), clusterInstance(t, kind, cluster, lib, { prefix })])
      const streams = await streamsOnShards(cluster, prefix, 1)
      const watchers = streams.map((s) => openEventStream(`${b.base}/s/${s.name}`))
      t.teardown(() => watchers.forEach((w) => w.close()))
      await until(() => watchers.every((w) => w.decoder.lastEventId !== ''), 'watchers positioned')
      // Scripts loaded and the clock measured: what follows is the steady state.
      await Promise.all(streams.map((s) => a.stream.publish({ data: 'warm' }, { key: s.name })))
      await until(() => watchers.every((w) => w.received.length === 1), 'warm-up delivered')
      const primaries = new Set(streams.map((s) => s.port))
      for (const target of streams) {
        const before = await cluster.commandStats()
        const n = 5
        for (let i = 0; i < n; i++) await a.stream.publish({ data: i }, { key: target.name })
        const watcher = watchers[streams.indexOf(target)]
        await until(() => watcher.received.length === 1 + n, 'delivered to the other instance')
        const delta = clusterDelta(before, await cluster.commandStats())
        for (const [port, calls] of Object.entries(delta)) {
          const owner = Number(port) === target.port
          const scripts = (calls.evalsha ?? 0) + (calls.eval ?? 0)
          if (owner) {
            t.same({ evalsha: calls.evalsha, spublish: calls.spublish }, { evalsha: n, spublish: n }, `owner ${port}: one script call and one SPUBLISH per publish`)
          } else if (primaries.has(Number(port))) {
            t.equal(scripts, 0, `primary ${port} does not own ${target.name}: no script call`)
          }
          t.notOk(calls.publish, `node ${port}: no PUBLISH`)
          t.notOk(calls.xrange, `node ${port}: no read of the log`)
        }
      }
    })

    test(`${kind}: a reconnect storm of 400 clients on one cursor costs one read`, async (t) => {
      const prefix = `c${++runs}:`
      const a = await clusterInstance(t, kind, cluster, lib, { prefix })
      const [target] = await streamsOnShards(cluster, prefix, 1)
      const published = []
      for (let i = 0; i < 10; i++) published.push(await a.stream.publish({ data: i }, { key: target.name }))
      const url = `${a.base}/s/${target.name}`
      const cursor = published[5].id
      const before = await cluster.commandStats()
      const clients = Array.from({ length: 400 }, () => openEventStream(url, cursor))
      t.teardown(() => clients.forEach((c) => c.close()))
      const missed = published.slice(6).map((e) => e.id)
      await until(() => clients.every((c) => c.received.length >= missed.length), 'every client replays the missed events', 20_000)
      const wrong = clients.filter((c) => c.status !== 200 || ids(c).join() !== missed.join())
      t.equal(wrong.length, 0, 'all 400 clients replayed exactly the missed events')
      const delta = clusterDelta(before, await cluster.commandStats())
      const reads = delta[target.port].evalsha ?? 0
      // The stream is cold here: one head read to position its subscription, one read of the log.
      t.ok(reads >= 1 && reads <= 2, `one read of the log for 400 clients on ${target.port} (${reads} script calls)`)
      for (const [port, calls] of Object.entries(delta)) {
        if (Number(port) !== target.port) t.notOk(calls.evalsha, `node ${port}: no script call`)
      }
    })
  }

  for (const kind of CLIENTS) {
    test(`${kind}: idempotent appends and the position check work per stream on a cluster`, async (t) => {
      const conn = await connectCluster(kind, cluster)
      const prefix = `c${++runs}:`
      const store = redisStore({ client: conn.client, prefix, positionCheckMs: 200 })
      t.teardown(async () => { await store.close(); await conn.close() })
      const sub = collect(await store.subscribe('pc'))
      const first = await store.append('pc', { data: 'one', idempotencyKey: 'same' })
      const again = await store.append('pc', { data: 'one', idempotencyKey: 'same' })
      t.equal(again.id, first.id, 'a repeated idempotency key returns the first result')
      await until(() => sub.events().length === 1, 'the first event arrives live')
      // An event in the log that no frame announced: only the position check can find it.
      const base = `${prefix}{${Buffer.from('pc').toString('base64url')}}:`
      const owner = await cluster.ownerOf(slotOf(base + 'meta'))
      await cluster.command(owner, 'HINCRBY', base + 'meta', 'top', 1)
      await cluster.command(owner, 'XADD', base + 'log', '2-0', 'd', 'silent', 't', String(Date.now()))
      await until(() => sub.events().length === 2, 'the position check finds the event', 5000)
      t.same(sub.events().map((e) => e.data), ['one', 'silent'])
      t.same(sub.resets(), [])
      t.equal(await cluster.command(owner, 'XLEN', base + 'log'), 2, 'one entry per event')
    })
  }

  test('the start-up permission check asks for the sharded Pub/Sub commands on a cluster', async (t) => {
    // ACL users are per node: the same user on every node, allowed everything but SPUBLISH.
    await Promise.all(cluster.nodes.map((n) => n.command('ACL', 'SETUSER', 'no-spublish', 'on', '>pw', '~*', '&*', '+@all', '-spublish')))
    // The user docs/redis.md gives for a cluster, plus what the clients need for discovery.
    const documented = ['+evalsha', '+eval', '+time', '+info', '+hmget', '+hget', '+hset', '+hdel', '+del', '+xadd', '+xrange', '+pexpire', '+spublish', '+ssubscribe', '+sunsubscribe', '+cluster|slots']
    await Promise.all(cluster.nodes.map((n) => n.command('ACL', 'SETUSER', 'sse-app', 'on', '>pw', 'resetkeys', '~sse:*', 'resetchannels', '&sse:*', 'nocommands', ...documented, '+cluster|shards', '+cluster|nodes', '+cluster|info', '+command', '+ping', '+hello', '+client')))
    for (const kind of CLIENTS) {
      const full = await connectCluster(kind, cluster)
      t.teardown(() => full.close())
      const ok = redisStore({ client: full.client, prefix: `c${++runs}:` })
      t.teardown(() => ok.close())
      await t.resolves(ok.ready(), `${kind}: every permission present`)
      const app = await connectCluster(kind, cluster, kind === 'ioredis' ? { redisOptions: { username: 'sse-app', password: 'pw' } } : { defaults: { username: 'sse-app', password: 'pw' } })
      t.teardown(() => app.close())
      const exact = redisStore({ client: app.client })
      t.teardown(() => exact.close())
      await t.resolves(exact.ready(), `${kind}: the documented user has every permission the store needs`)
      const extra = kind === 'ioredis' ? { redisOptions: { username: 'no-spublish', password: 'pw' } } : { defaults: { username: 'no-spublish', password: 'pw' } }
      const limited = await connectCluster(kind, cluster, extra)
      t.teardown(() => limited.close())
      const store = redisStore({ client: limited.client, prefix: `c${++runs}:` })
      t.teardown(() => store.close())
      const err = await store.ready().then(() => undefined, (e) => e)
      t.equal(err?.code, 'FST_SSE_STORE_NOPERM', `${kind}: a user without SPUBLISH is refused`)
      t.match(err?.message, /SPUBLISH/, 'naming SPUBLISH')
      t.notMatch(err?.message, /[^S]PUBLISH|SUBSCRIBE/, 'and nothing else')
    }
  })

  test('on a cluster, a prefix with a hash tag and a client keyPrefix are refused with coded errors', async (t) => {
    for (const kind of CLIENTS) {
      const plain = await connectCluster(kind, cluster)
      t.teardown(() => plain.close())
      t.throws(() => redisStore({ client: plain.client, prefix: 'app{1}:' }), { code: 'FST_SSE_INVALID_STORE_OPTION' }, `${kind}: prefix with {`)
      const prefixed = await connectCluster(kind, cluster, { keyPrefix: 'app:' })
      t.teardown(() => prefixed.close())
      t.throws(() => redisStore({ client: prefixed.client }), { code: 'FST_SSE_INVALID_STORE_OPTION' }, `${kind}: client keyPrefix`)
    }
  })

  test('stream keys spread over slots and primaries (100 streams)', async (t) => {
    const shards = await cluster.shards()
    const slots = new Set()
    const perShard = new Map(shards.map((s) => [s.port, 0]))
    for (let i = 0; i < 100; i++) {
      // Keys a real application would use: one stream per user id.
      const channel = channelOf('sse:', `inbox:user-${i}`)
      const slot = await cluster.command(shards[0].port, 'CLUSTER', 'KEYSLOT', channel)
      slots.add(slot)
      const shard = shards.find((s) => s.from <= slot && slot <= s.to)
      perShard.set(shard.port, perShard.get(shard.port) + 1)
    }
    t.ok(slots.size >= 98, `100 streams land in ${slots.size} distinct slots`)
    for (const [port, n] of perShard) t.ok(n >= 20 && n <= 47, `primary ${port} serves ${n} of the 100 streams`)
    t.comment(`streams per primary: ${[...perShard.values()].join(' / ')}`)
  })
}
