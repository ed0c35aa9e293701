// Idempotent retries under every maxmemory-policy, with Redis pushed well past a small
// maxmemory between a publish and its retry. Whatever Redis evicts, a retry with the same
// idempotency key never puts the event twice into the stream a client reads: it answers the
// first result, or the stream lost its meta and starts a new epoch (the old log goes with it,
// and every subscriber gets a reset first), or, under noeviction, it is refused with a coded
// error carrying Redis's OOM and stores nothing.
import t0, { test } from 'tap'
import { failOnEscapes } from './helpers/escapes.mjs'
import { CLIENTS, collect, invariantProblems, requireRedisServer, startRedis, storeOn } from './helpers/redis-server.mjs'
import { until } from './helpers/wait.mjs'

const POLICIES = ['noeviction', 'allkeys-lru', 'allkeys-lfu', 'volatile-lru', 'volatile-lfu', 'volatile-ttl', 'volatile-random', 'allkeys-random']
const ORDERS = 20

// Writes `count` keys of about 1 KB in one call (with a TTL for the volatile-* policies, which
// evict nothing else). Inside a script only the first write is checked against maxmemory, so
// this pushes Redis well past it; the next command makes it evict down again.
const FILL = `
for i = 1, tonumber(ARGV[2]) do
  if ARGV[3] == '0' then
    redis.call('SET', ARGV[1] .. i, string.rep('x', 1000))
  else
    redis.call('SET', ARGV[1] .. i, string.rep('x', 1000), 'PX', ARGV[3])
  end
end
return 1
`

if (requireRedisServer(t0)) {
  const redis = await startRedis()
  t0.teardown(() => redis.stop())
  const used = async () => Number(/used_memory:(\d+)/.exec(await redis.command('INFO', 'memory'))[1])

  for (const kind of CLIENTS) {
    test(`${kind}: idempotent retries under every eviction policy store each event once in what clients read`, async (t) => {
      failOnEscapes(t)
      for (const policy of POLICIES) {
        await t.test(policy, async (t) => {
          await redis.command('CONFIG', 'SET', 'maxmemory', '0')
          await redis.command('FLUSHALL')
          await redis.command('CONFIG', 'SET', 'maxmemory-policy', policy)
          const { store, prefix } = await storeOn(t, kind, redis.port, { positionCheckMs: 0 })
          const { store: other } = await storeOn(t, kind, redis.port, { prefix, positionCheckMs: 0 })
          const live = collect(await other.subscribe('orders'))
          const first = []
          for (let i = 0; i < ORDERS; i++) first.push(await store.append('orders', { data: `order-${i}`, idempotencyKey: `order-${i}` }))
          await until(() => live.events().length === ORDERS, 'the subscriber to get every order', 5000)

          // Memory pressure: a small limit, then far more data than fits.
          await redis.command('CONFIG', 'SET', 'maxmemory', String(await used() + 512 * 1024))
          const ttl = policy.startsWith('volatile-') ? '3600000' : '0'
          await redis.command('EVAL', FILL, '0', `fill:${policy}:`, '4000', ttl)

          const outcomes = { first: 0, 'new epoch': 0, refused: 0 }
          const retries = []
          for (let i = 0; i < ORDERS; i++) {
            const retry = await store.append('orders', { data: `order-${i}`, idempotencyKey: `order-${i}` }).then((e) => e, (err) => err)
            retries.push(retry)
            if (retry instanceof Error) {
              t.equal(policy, 'noeviction', `only noeviction refuses: ${retry.message}`)
              t.equal(retry.code, 'FST_SSE_STORE_UNAVAILABLE')
              t.match(String(retry.cause?.message), /^OOM/, 'the cause is Redis\'s OOM')
              outcomes.refused++
            } else if (retry.id === first[i].id) {
              outcomes.first++
            } else {
              t.not(retry.id.split(':')[0], first[i].id.split(':')[0], `order-${i} stored again only in a new epoch (${first[i].id} -> ${retry.id})`)
              outcomes['new epoch']++
            }
          }
          t.comment(`${policy}: ${JSON.stringify(outcomes)}`)
          if (policy === 'volatile-ttl') t.equal(outcomes.first, ORDERS, 'volatile-ttl: every retry answers the first result')
          if (policy === 'noeviction') t.equal(outcomes.refused, ORDERS, 'noeviction: every retry is refused while Redis is full')

          // What a client reads: the log holds each order at most once, and a subscriber never
          // gets one twice without a reset between.
          const log = (await redis.command('KEYS', `${prefix}*:log`))[0]
          const entries = log === undefined ? [] : await redis.command('XRANGE', log, '-', '+')
          const data = entries.map(([, fields]) => fields[1])
          t.same(data.filter((d, i) => data.indexOf(d) !== i), [], 'no order twice in the log')
          // The subscriber catches up to the head (a reset lands it there: a reset means "reload").
          const head = await store.head('orders')
          const at = () => { const last = live.items.at(-1); return last?.type === 'reset' ? last.head : last?.event.id }
          await until(() => at() === head, `the subscriber to reach the head ${head}`, 5000)
          t.same(invariantProblems(live.items), [], 'the subscriber\'s ids stay in order, without holes')
          const seen = new Set()
          for (const item of live.items) {
            if (item.type === 'reset') { seen.clear(); continue }
            t.notOk(seen.has(item.event.data), `${item.event.data} once between resets`)
            seen.add(item.event.data)
          }

          if (policy === 'noeviction') {
            // Room again: the same retries now answer the first results.
            await redis.command('CONFIG', 'SET', 'maxmemory', '0')
            for (let i = 0; i < ORDERS; i++) {
              t.same(await store.append('orders', { data: `order-${i}`, idempotencyKey: `order-${i}` }), first[i], `order-${i}: the first result`)
            }
          }
        })
      }
      await redis.command('CONFIG', 'SET', 'maxmemory', '0')
      await redis.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction')
    })
  }
}
