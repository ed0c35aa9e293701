// Two applications on one Redis told apart only by their client's `keyPrefix` (ioredis, and
// node-redis's option of the same name) never see each other's streams: neither their keys nor
// their Pub/Sub traffic, although both use the store's default `prefix` and the same stream
// names. The same keyPrefix on both clients is one application: they share streams.
import t0, { test } from 'tap'
import { redisStore } from 'fastify-typed-sse/redis'
import { failOnEscapes } from './helpers/escapes.mjs'
import { CLIENTS, collect, connectClient, requireRedisServer, startRedis } from './helpers/redis-server.mjs'
import { until } from './helpers/wait.mjs'

if (requireRedisServer(t0)) {
  const redis = await startRedis()
  t0.teardown(() => redis.stop())

  async function app (t, kind, keyPrefix) {
    const conn = await connectClient(kind, redis.port, { keyPrefix })
    const errors = []
    const store = redisStore({ client: conn.client, lingerMs: 0, positionCheckMs: 20, onError: (err) => errors.push(err.message) })
    t.teardown(async () => { await store.close(); await conn.close() })
    await store.ready()
    store.errors = errors
    return store
  }

  for (const a of CLIENTS) {
    for (const b of CLIENTS) {
      test(`${a} with keyPrefix appA: and ${b} with appB: share nothing; ${b} with appA: shares everything`, async (t) => {
        failOnEscapes(t)
        await redis.command('FLUSHALL')
        const appA = await app(t, a, 'appA:')
        const appB = await app(t, b, 'appB:')
        const alsoA = await app(t, b, 'appA:')
        const onA = collect(await appA.subscribe('chat'))
        const onB = collect(await appB.subscribe('chat'))
        const onAlsoA = collect(await alsoA.subscribe('chat'))

        const channels = (await redis.command('PUBSUB', 'CHANNELS', '*')).sort()
        t.ok(channels.length === 2 && channels.every((c) => /^app[AB]:sse:\{/.test(c)), `channels carry the key prefix: ${channels}`)

        const fromB = await appB.append('chat', { data: 'from B' })
        const fromA = await appA.append('chat', { data: 'from A' })
        await until(() => onA.events().length === 1 && onB.events().length === 1 && onAlsoA.events().length === 1, 'each event to reach its own application', 5000)
        t.same(onA.events().map((e) => e.data), ['from A'], 'A gets only its own event')
        t.same(onB.events().map((e) => e.data), ['from B'], 'B gets only its own event')
        t.same(onAlsoA.events(), onA.events(), 'the other client with A\'s prefix is A: same events, same ids')
        t.equal(fromA.offset, 1, 'A\'s stream starts at 1: B\'s event is not in it')
        t.equal(fromB.offset, 1)

        const keys = (await redis.command('KEYS', '*')).sort()
        t.ok(keys.length > 0 && keys.every((k) => /^app[AB]:sse:\{/.test(k)), `every key carries its prefix: ${keys}`)
        // Resuming reads only its own log.
        const epochA = fromA.id.split(':')[0]
        t.same((await alsoA.readAfter('chat', `${epochA}:0`)).events.map((e) => e.data), ['from A'])
        // Later traffic does not cross either.
        await appB.append('chat', { data: 'from B again' })
        await until(() => onB.events().length === 2, 'B\'s second event', 5000)
        t.equal(onA.events().length, 1, 'still nothing of B\'s on A')

        // The position check finds each stream's meta under the prefix: while nothing is
        // published, it reads positions (HMGET) and never has to repair from the log (EVALSHA).
        const before = await redis.commandStats()
        await until(async () => ((await redis.commandStats()).hmget ?? 0) - (before.hmget ?? 0) >= 12, 'a few position checks', 5000)
        const after = await redis.commandStats()
        t.equal((after.evalsha ?? 0) - (before.evalsha ?? 0), 0, 'no repair: every check found its stream where it was')
        t.same([...appA.errors, ...appB.errors, ...alsoA.errors], [], 'no background error')
      })
    }
  }
}
