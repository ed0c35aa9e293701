// The Redis store on its own, against a real redis-server, with both supported clients.
import t0, { test } from 'tap'
import { redisStore } from 'fastify-typed-sse/redis'
import * as main from 'fastify-typed-sse'
import { CLIENTS, collect, connectClient, invariantProblems, requireRedisServer, startRedis, storeOn, statsDelta } from './helpers/redis-server.mjs'
import { until } from './helpers/wait.mjs'

if (requireRedisServer(t0)) {
  const redis = await startRedis()
  t0.teardown(() => redis.stop())
  let n = 0
  const prefix = () => `t${++n}:`

  const setup = (t, kind, options = {}) => storeOn(t, kind, redis.port, { prefix: prefix(), ...options })

  test('the main entry exports redisStore too', async (t) => {
    t.equal(main.redisStore, redisStore)
  })

  test('rejects what is not a Redis client, and bad options, with coded errors', async (t) => {
    t.throws(() => redisStore({ client: {} }), { code: 'FST_SSE_INVALID_STORE_OPTION' })
    t.throws(() => redisStore(), { code: 'FST_SSE_INVALID_STORE_OPTION' })
    const conn = await connectClient('ioredis', redis.port)
    t.teardown(() => conn.close())
    t.throws(() => redisStore({ client: conn.client, maxEvents: 0 }), { code: 'FST_SSE_INVALID_STORE_OPTION' })
    t.throws(() => redisStore({ client: conn.client, appendTimeoutMs: 1.5 }), { code: 'FST_SSE_INVALID_STORE_OPTION' })
    t.throws(() => redisStore({ client: conn.client, rotateEpochOnServerChange: 'yes' }), { code: 'FST_SSE_INVALID_STORE_OPTION' })
  })

  for (const kind of CLIENTS) {
    test(`${kind}: append, head and readAfter`, async (t) => {
      const { store } = await setup(t, kind)
      t.same(store.capabilities, { contiguousOffsets: true, shared: true })
      const head0 = await store.head('room/1')
      t.match(head0, /^[0-9A-Za-z_-]{6,32}:0$/, 'an empty stream gets an epoch at offset 0')
      t.equal(await store.head('room/1'), head0, 'head is stable')
      const epoch = head0.split(':')[0]
      const inputs = [
        { data: 'plain' },
        { event: 'multi:line', data: 'a\nb:c\r\nd' },
        { event: 'ünï', data: '{"emoji":"🎉"}' },
        { data: '' }
      ]
      const stored = []
      for (const input of inputs) stored.push(await store.append('room/1', input))
      t.same(stored.map((e) => e.id), [1, 2, 3, 4].map((o) => `${epoch}:${o}`))
      t.equal(stored[0].event, undefined, 'no event name stays absent')
      t.equal(stored[1].event, 'multi:line')
      t.ok(stored.every((e) => Number.isInteger(e.ts) && Math.abs(e.ts - Date.now()) < 60_000), 'timestamps from the Redis clock')
      t.equal(await store.head('room/1'), `${epoch}:4`)

      const all = await store.readAfter('room/1', head0)
      t.equal(all.status, 'ok')
      t.same(all.events, stored, 'replay returns exactly what was appended')
      t.equal(all.complete, true)
      t.equal(all.head, `${epoch}:4`)

      const page = await store.readAfter('room/1', `${epoch}:1`, { limit: 2 })
      t.same(page.events.map((e) => e.offset), [2, 3])
      t.equal(page.complete, false, 'a cut page is not complete')
      t.same(await store.readAfter('room/1', `${epoch}:4`), { status: 'ok', events: [], head: `${epoch}:4`, complete: true })
      t.same(await store.readAfter('room/1', `${epoch}:5`), { status: 'gap', reason: 'ahead', head: `${epoch}:4` })
      t.same(await store.readAfter('room/1', 'other1:2'), { status: 'gap', reason: 'epoch', head: `${epoch}:4` })

      const other = await store.head('room/2')
      t.not(other.split(':')[0], epoch, 'every stream has its own epoch')
      await t.rejects(store.readAfter('room/1', head0, { limit: 0 }), { code: 'FST_SSE_INVALID_STORE_ARGUMENT' })
      await t.rejects(store.append('', { data: 'x' }), { code: 'FST_SSE_INVALID_KEY' })
      await t.rejects(store.append('k', { data: 1 }), { code: 'FST_SSE_INVALID_STORE_ARGUMENT' })
      // The memory store's checks, and code.
      for (const idempotencyKey of ['', 5, {}, null, ['k']]) {
        await t.rejects(store.append('k', { data: 'x', idempotencyKey }), { code: 'FST_SSE_INVALID_STORE_ARGUMENT', message: /idempotencyKey/ }, `idempotencyKey ${JSON.stringify(idempotencyKey)}`)
      }
    })

    test(`${kind}: a repeated idempotency key appends once and returns the first result`, async (t) => {
      const { store } = await setup(t, kind)
      const first = await store.append('k', { data: 'x', idempotencyKey: 'pub-1' })
      const again = await store.append('k', { data: 'x', idempotencyKey: 'pub-1' })
      const other = await store.append('k', { data: 'y', idempotencyKey: 'pub-2' })
      t.same(again, first)
      t.equal(other.offset, first.offset + 1)
      const read = await store.readAfter('k', first.id.replace(/:\d+$/, ':0'))
      t.same(read.events.map((e) => e.data), ['x', 'y'])
    })

    test(`${kind}: live delivery, one subscription per key per instance, linger`, async (t) => {
      const { store } = await setup(t, kind, { lingerMs: 300 })
      const a = collect(await store.subscribe('live'))
      const b = collect(await store.subscribe('live'))
      const channel = (await redis.command('PUBSUB', 'CHANNELS', '*')).find((c) => c.endsWith(':ch') && c.startsWith(`t${n}:`))
      t.ok(channel, 'the key is subscribed')
      t.same(await redis.command('PUBSUB', 'NUMSUB', channel), [channel, 1], 'one subscription for two subscribers')
      const appended = []
      for (let i = 0; i < 20; i++) appended.push(await store.append('live', { event: i % 2 ? 'odd' : undefined, data: `n${i}` }))
      await until(() => a.events().length === 20 && b.events().length === 20, 'both subscribers get 20 events', 5000)
      t.same(a.events(), appended, 'live events equal the appended ones')
      t.same(b.events(), appended)
      t.same(invariantProblems(a.items), [])

      const sub = await store.subscribe('live')
      await sub.close()
      for await (const item of sub) t.fail(`a closed subscription yields nothing, got ${JSON.stringify(item)}`)
      const iterator = (await store.subscribe('live'))[Symbol.asyncIterator]()
      await iterator.return()
    })

    test(`${kind}: unsubscribes after the linger once the last subscriber left`, async (t) => {
      const { store } = await setup(t, kind, { lingerMs: 200 })
      const sub = await store.subscribe('gone')
      const channel = (await redis.command('PUBSUB', 'CHANNELS', `t${n}:*`))[0]
      t.ok(channel)
      // A second key whose linger starts after the first one's: once it has run out, the
      // first one's would have too.
      const witness = await store.subscribe('witness')
      const witnessChannel = (await redis.command('PUBSUB', 'CHANNELS', `t${n}:*`)).find((c) => c !== channel)
      await sub.close()
      t.same(await redis.command('PUBSUB', 'NUMSUB', channel), [channel, 1], 'lingering')
      await witness.close()
      const again = await store.subscribe('gone')
      await until(async () => (await redis.command('PUBSUB', 'NUMSUB', witnessChannel))[1] === 0, 'the later linger to run out', 3000)
      t.same(await redis.command('PUBSUB', 'NUMSUB', channel), [channel, 1], 'a new subscriber cancels the linger')
      await again.close()
      await until(async () => (await redis.command('PUBSUB', 'NUMSUB', channel))[1] === 0, 'unsubscribed after the linger', 3000)
      const late = collect(await store.subscribe('gone'))
      await store.append('gone', { data: 'after' })
      await until(() => late.events().length === 1, 'a key subscribed again delivers again', 3000)
    })

    test(`${kind}: identical concurrent reads cost one Redis call`, async (t) => {
      const { store } = await setup(t, kind)
      const head = await store.head('storm')
      for (let i = 0; i < 5; i++) await store.append('storm', { data: String(i) })
      const before = await redis.commandStats()
      const results = await Promise.all(Array.from({ length: 200 }, () => store.readAfter('storm', head)))
      const delta = statsDelta(before, await redis.commandStats())
      t.ok(results.every((r) => r.status === 'ok' && r.events.length === 5), 'everyone got the events')
      t.same(delta, { evalsha: 1, hmget: 1, info: 1, xrange: 1 }, '200 identical reads ran one script (INFO is the epoch guard inside it)')
    })

    test(`${kind}: trim boundary (case 12)`, async (t) => {
      const { store } = await setup(t, kind, { maxEvents: 10 })
      const head = await store.head('trim')
      const epoch = head.split(':')[0]
      for (let i = 1; i <= 350; i++) await store.append('trim', { data: String(i) })
      const log = (await redis.command('KEYS', `t${n}:*:log`))[0]
      const [[firstId]] = await redis.command('XRANGE', log, '-', '+', 'COUNT', '1')
      const F = Number(firstId.split('-')[0])
      t.ok(F > 1 && F <= 341, `trimmed by whole nodes: first retained offset ${F}`)
      const replay = await store.readAfter('trim', `${epoch}:${F - 1}`)
      t.equal(replay.status, 'ok', 'F-1 replays')
      t.equal(replay.events[0].offset, F)
      t.equal(replay.events.at(-1).offset, 350)
      t.same(await store.readAfter('trim', `${epoch}:${F - 2}`), { status: 'gap', reason: 'trimmed', head: `${epoch}:350` }, 'F-2 is trimmed')
      t.same(await store.readAfter('trim', `${epoch}:0`), { status: 'gap', reason: 'trimmed', head: `${epoch}:350` })
      t.same(await store.readAfter('trim', `${epoch}:350`), { status: 'ok', events: [], head: `${epoch}:350`, complete: true }, 'top: nothing')
      t.same(await store.readAfter('trim', `${epoch}:351`), { status: 'gap', reason: 'ahead', head: `${epoch}:350` }, 'top+1: ahead')
    })

    test(`${kind}: age limit on replay`, async (t) => {
      const { store } = await setup(t, kind, { maxAgeMs: 1000 })
      const head = await store.head('aged')
      await store.append('aged', { data: 'old' })
      t.equal((await store.readAfter('aged', head)).status, 'ok')
      // The age is Redis's own clock: wait for the event to reach it, then look.
      const aged = await until(async () => {
        const result = await store.readAfter('aged', head)
        return result.status === 'gap' && result
      }, 'the event to age past maxAgeMs', 5000)
      t.equal(aged.reason, 'trimmed', 'older than maxAgeMs counts as trimmed')
      const fresh = await store.readAfter('aged', head, { retention: { maxAgeMs: 60_000 } })
      t.equal(fresh.status, 'ok', 'a per-stream retention overrides the default')
    })

    test(`${kind}: expiry (case 13)`, async (t) => {
      const { store } = await setup(t, kind, { streamTtlMs: 150 })
      const head = await store.head('idle')
      const epoch = head.split(':')[0]
      for (let i = 0; i < 5; i++) await store.append('idle', { data: String(i) })
      const [log] = await redis.command('KEYS', `t${n}:*:log`)
      const meta = log.replace(/log$/, 'meta')
      await until(async () => (await redis.command('EXISTS', log)) === 0, 'the idle log expires', 3000)
      t.equal(await redis.command('EXISTS', meta), 1, 'the meta outlives the log')
      t.same(await store.readAfter('idle', `${epoch}:3`), { status: 'gap', reason: 'trimmed', head: `${epoch}:5` }, 'expired log: trimmed')
      const next = await store.append('idle', { data: 'after expiry' })
      t.equal(next.id, `${epoch}:6`, 'the epoch and offsets carry on')

      await store.append('idle', { data: 'stale' })
      await redis.command('DEL', meta)
      const r = await store.readAfter('idle', `${epoch}:6`)
      t.equal(r.status, 'gap')
      t.equal(r.reason, 'epoch', 'lost meta: new epoch')
      const newEpoch = r.head.split(':')[0]
      t.not(newEpoch, epoch)
      t.equal(r.head, `${newEpoch}:0`)
      t.equal(await redis.command('EXISTS', log), 0, 'the stale log was deleted with the old epoch')
      const first = await store.append('idle', { data: 'fresh' })
      t.equal(first.id, `${newEpoch}:1`)
      const replay = await store.readAfter('idle', `${newEpoch}:0`)
      t.same(replay.events.map((e) => e.data), ['fresh'], 'never a replay of pre-epoch entries')
    })

    test(`${kind}: hostile cursors cost no Redis call (case 14)`, async (t) => {
      const { store } = await setup(t, kind, { positionCheckMs: 0 })
      const sub = await store.subscribe('hostile')
      t.teardown(() => sub.close())
      const head = await store.head('hostile')
      const epoch = head.split(':')[0]
      const hostile = ['x'.repeat(8192), `${epoch}:1\r\nevent: x`, `${epoch}:\u00001`, '../../etc/passwd', `${epoch}:12345678901234567`,
        `${epoch}:9999999999999999`, `${epoch}:01`, `${epoch}:-1`, '', ':', 'ab:1', `${epoch}:1 `, '{x}:1']
      const before = await redis.commandStats()
      for (const cursor of hostile) {
        const r = await store.readAfter('hostile', cursor)
        t.same(r, { status: 'gap', reason: 'malformed', head }, `malformed: ${JSON.stringify(cursor.slice(0, 40))}`)
      }
      t.equal(await store.head('hostile'), head, 'head of a key subscribed here is local')
      t.same(statsDelta(before, await redis.commandStats()), {}, 'zero Redis commands')
      const foreign = await store.readAfter('hostile', 'AAAAAAAA:3')
      t.same(foreign, { status: 'gap', reason: 'epoch', head }, "another stream's id: epoch")
    })

    test(`${kind}: two instances on one key see one order`, async (t) => {
      const p = prefix()
      const one = await setup(t, kind)
      const c2 = await connectClient(kind, redis.port)
      const s1 = redisStore({ client: one.conn.client, prefix: p })
      const s2 = redisStore({ client: c2.client, prefix: p })
      t.teardown(async () => { await s1.close(); await s2.close(); await c2.close() })
      const a = collect(await s1.subscribe('shared'))
      const b = collect(await s2.subscribe('shared'))
      await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? s1 : s2).append('shared', { data: String(i) })))
      await until(() => a.events().length === 100 && b.events().length === 100, 'both instances get 100 events', 5000)
      t.same(a.events().map((e) => e.id), b.events().map((e) => e.id), 'identical sequences')
      t.same(invariantProblems(a.items), [])
      t.same(a.events().map((e) => e.offset), Array.from({ length: 100 }, (_, i) => i + 1), 'contiguous offsets')
    })

    test(`${kind}: close releases what the store opened, and only that`, async (t) => {
      const conn = await connectClient(kind, redis.port)
      t.teardown(() => conn.close())
      const store = redisStore({ client: conn.client, prefix: prefix() })
      const count = async () => String(await redis.command('CLIENT', 'LIST')).trim().split('\n').length
      const base = await count()
      const sub = collect(await store.subscribe('c'))
      t.equal(await count(), base + 1, 'one extra connection for Pub/Sub')
      await store.close()
      await sub.done
      t.pass('subscriptions end on close')
      await until(async () => (await count()) === base, 'the Pub/Sub connection is closed', 3000)
      await t.rejects(store.append('c', { data: 'x' }), { code: 'FST_SSE_STORE_CLOSED' })
      await t.rejects(store.subscribe('c'), { code: 'FST_SSE_STORE_CLOSED' })
      t.equal(await (kind === 'ioredis' ? conn.client.ping() : conn.client.ping()), 'PONG', "the application's client stays open")
    })
  }
}
