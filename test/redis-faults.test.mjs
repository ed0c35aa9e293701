// Failure cases against a real redis-server, with both clients: restarts, a killed subscriber
// connection, a connection cut mid-append, a paused server and a lost last Pub/Sub message.
import t0, { test } from 'tap'
import { redisStore } from 'fastify-typed-sse/redis'
import { CLIENTS, collect, connectClient, invariantProblems, requireRedisServer, startRedis, storeOn } from './helpers/redis-server.mjs'
import { startProxy } from './helpers/tcp-proxy.mjs'
import { until } from './helpers/wait.mjs'

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

if (requireRedisServer(t0)) {
  const redis = await startRedis()
  t0.teardown(() => redis.stop())
  let n = 0
  const prefix = () => `f${++n}:`

  const setup = (t, kind, options = {}, port = redis.port) => storeOn(t, kind, port, { prefix: prefix(), ...options })

  const offsets = (events) => events.map((e) => e.offset)
  const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

  for (const kind of CLIENTS) {
    test(`${kind}: subscriber connection killed (case 3): catch-up, no hole, no duplicate, no reset`, async (t) => {
      const { store } = await setup(t, kind, { positionCheckMs: 0 })
      const sub = collect(await store.subscribe('k'))
      let killed = 0
      for (let i = 1; i <= 120; i++) {
        await store.append('k', { data: String(i) })
        if (i === 40 || i === 80) {
          await until(async () => String(await redis.command('CLIENT', 'LIST', 'TYPE', 'pubsub')).trim() !== '', 'the subscriber is connected', 5000)
          killed += await redis.command('CLIENT', 'KILL', 'TYPE', 'pubsub')
        }
        if (i % 10 === 0) await sleep(5)
      }
      t.equal(killed, 2, 'the Pub/Sub connection was killed twice')
      await until(() => sub.events().length >= 120, `120 events, got ${sub.events().length}`, 5000)
      // A last event as a barrier: delivery is in order, so a late duplicate would come before it.
      await store.append('k', { data: '121' })
      await until(() => sub.events().some((e) => e.offset === 121), 'the barrier event', 5000)
      t.same(offsets(sub.events()), range(1, 121), 'every event exactly once, in order')
      t.same(sub.resets(), [], 'no reset')
      t.same(invariantProblems(sub.items), [])
    })

    test(`${kind}: command connection cut mid-append (case 4): exactly one entry`, async (t) => {
      const proxy = await startProxy(redis.port)
      t.teardown(() => proxy.close())
      const { store } = await setup(t, kind, { appendTimeoutMs: 5000 }, proxy.port)
      const first = await store.append('k', { data: 'warm-up' }) // the script is cached from here on
      t.equal(first.offset, 1)
      const cut = proxy.cutAfterRequestContaining('EVALSHA')
      const second = await store.append('k', { data: 'cut' })
      await cut
      t.pass('the connection was cut after the append reached Redis, before its reply')
      t.equal(second.offset, 2, 'the append reports the entry it made')
      const log = (await redis.command('KEYS', `f${n}:*:log`))[0]
      t.equal(await redis.command('XLEN', log), 2, 'exactly one entry for the cut append')
      t.same((await redis.command('XRANGE', log, '-', '+')).map(([id, f]) => [id, f[1]]), [['1-0', 'warm-up'], ['2-0', 'cut']])
      t.equal((await store.append('k', { data: 'next' })).offset, 3, 'offsets carry on without a hole')
    })

    test(`${kind}: CLIENT PAUSE (case 5): appends time out cleanly, live resumes in order`, async (t) => {
      const { store } = await setup(t, kind, { appendTimeoutMs: 400, positionCheckMs: 0 })
      const sub = collect(await store.subscribe('k'))
      for (let i = 1; i <= 5; i++) await store.append('k', { data: `before ${i}` })
      await redis.command('CLIENT', 'PAUSE', '1500', 'WRITE')
      const started = Date.now()
      const failures = await Promise.allSettled([1, 2, 3].map((i) => store.append('k', { data: `paused ${i}` })))
      const took = Date.now() - started
      t.ok(failures.every((f) => f.status === 'rejected' && f.reason.code === 'FST_SSE_STORE_TIMEOUT'), 'appends during the pause time out')
      t.ok(took < 400 + 1000, `they fail within the timeout (${took} ms)`)
      await redis.command('CLIENT', 'UNPAUSE')
      for (let i = 1; i <= 5; i++) await store.append('k', { data: `after ${i}` })
      await until(() => sub.events().length >= 10, `10 events, got ${sub.events().length}`, 5000)
      await store.append('k', { data: 'barrier' })
      await until(() => sub.events().some((e) => e.data === 'barrier'), 'the barrier event', 5000)
      t.same(sub.events().map((e) => e.data), [1, 2, 3, 4, 5].map((i) => `before ${i}`).concat([1, 2, 3, 4, 5].map((i) => `after ${i}`), ['barrier']),
        'timed-out appends were never applied later')
      t.same(offsets(sub.events()), range(1, 11))
      t.same(sub.resets(), [])
    })

    test(`${kind}: lost last message (case 6): the position check delivers it`, async (t) => {
      const proxy = await startProxy(redis.port)
      t.teardown(() => proxy.close())
      const { store } = await setup(t, kind, { positionCheckMs: 300 }, proxy.port)
      const sub = collect(await store.subscribe('k'))
      await store.append('k', { data: 'one' })
      await until(() => sub.events().length === 1, 'the first event arrives live', 3000)
      const dropped = proxy.dropReplyContaining('LOST-LAST-MESSAGE')
      await store.append('k', { data: 'LOST-LAST-MESSAGE' })
      await dropped
      t.pass('the Pub/Sub frame was dropped')
      await until(() => sub.events().length === 2, 'the position check finds the lost last message', 3000)
      t.same(sub.events().map((e) => e.data), ['one', 'LOST-LAST-MESSAGE'])
      t.same(sub.resets(), [])
    })

    test(`${kind}: a hole in Pub/Sub delivery is repaired from the log`, async (t) => {
      const proxy = await startProxy(redis.port)
      t.teardown(() => proxy.close())
      const { store } = await setup(t, kind, { positionCheckMs: 0 }, proxy.port)
      const sub = collect(await store.subscribe('k'))
      await store.append('k', { data: 'one' })
      const dropped = proxy.dropReplyContaining('HOLE')
      await store.append('k', { data: 'HOLE' })
      await dropped
      await store.append('k', { data: 'three' })
      await until(() => sub.events().length === 3, 'the next frame reveals the hole and the log fills it', 3000)
      t.same(sub.events().map((e) => e.data), ['one', 'HOLE', 'three'])
      t.same(invariantProblems(sub.items), [])
    })
  }

  // Restarts share the server, so they run after everything else in this file, one at a time.
  for (const kind of CLIENTS) {
    test(`${kind}: Redis restart without persistence (case 1)`, async (t) => {
      const timeout = 500
      const { store } = await setup(t, kind, { appendTimeoutMs: timeout, readTimeoutMs: timeout, positionCheckMs: 500 })
      const subs = [collect(await store.subscribe('k')), collect(await store.subscribe('k'))]
      const results = []
      const stop = new AbortController()
      const publisher = (async () => {
        for (let i = 1; !stop.signal.aborted && i < 10_000; i++) {
          const started = Date.now()
          try {
            results.push({ ok: true, event: await store.append('k', { data: String(i) }), took: Date.now() - started })
          } catch (err) {
            results.push({ ok: false, code: err.code, took: Date.now() - started })
          }
          await sleep(20)
        }
      })()
      await until(() => results.length >= 15, 'publishing before the restart', 5000)
      const oldEpoch = results[0].event.id.split(':')[0]
      await redis.command('SHUTDOWN', 'NOSAVE').catch(() => {})
      await redis.kill() // already exiting; waits for the process to be gone
      await until(() => results.filter((r) => !r.ok).length >= 2, 'appends to fail while the server is down', 10_000)
      await redis.start()
      await until(() => results.filter((r) => r.ok && !r.event.id.startsWith(oldEpoch + ':')).length >= 15, 'publishing after the restart', 10_000)
      stop.abort()
      await publisher
      const failed = results.filter((r) => !r.ok)
      t.ok(failed.length > 0, `${failed.length} appends failed during the outage`)
      t.same([...new Set(failed.map((r) => r.code))].filter((c) => c !== 'FST_SSE_STORE_TIMEOUT' && c !== 'FST_SSE_STORE_UNAVAILABLE'), [], 'with coded errors')
      const slowest = Math.max(...failed.map((r) => r.took))
      t.ok(slowest <= timeout + 1000, `each within the append timeout (slowest ${slowest} ms)`)
      const after = results.filter((r) => r.ok && !r.event.id.startsWith(oldEpoch + ':')).map((r) => r.event)
      const newEpochs = new Set(after.map((e) => e.id.split(':')[0]))
      t.equal(newEpochs.size, 1, 'exactly one new epoch')
      t.same(offsets(after), range(1, after.length), 'the new epoch starts at 1, without holes')
      await until(() => subs.every((s) => s.events().some((e) => e.id === after.at(-1).id)), 'subscribers get the last event', 5000)
      for (const [i, sub] of subs.entries()) {
        t.same(sub.resets().map((r) => r.reason), ['epoch'], `subscriber ${i}: exactly one epoch reset`)
        t.same(invariantProblems(sub.items), [], `subscriber ${i}: invariant`)
        const resetAt = sub.items.findIndex((item) => item.type === 'reset')
        const live = sub.items.slice(resetAt + 1).map((item) => item.event)
        t.ok(live.every((e) => newEpochs.has(e.id.split(':')[0])), 'after the reset only new-epoch events')
        t.same(live.map((e) => e.id), after.filter((e) => e.offset > Number(sub.items[resetAt].head.split(':')[1])).map((e) => e.id), 'every new event after the reset head, in order')
      }
      const channel = (await redis.command('PUBSUB', 'CHANNELS', `f${n}:*`))[0]
      t.same(await redis.command('PUBSUB', 'NUMSUB', channel), [channel, 1], 'the subscription is back')
      const stale = await store.readAfter('k', results[0].event.id)
      t.equal(stale.reason, 'epoch', 'a client with an old id gets an epoch gap')
    })
  }

  test('restart with AOF persistence: the epoch guard rotates, and without it the epoch survives', async (t) => {
    const aof = await startRedis({ persistence: 'aof', args: ['--appendfsync', 'always'] })
    t.teardown(() => aof.stop())
    const conn = await connectClient('ioredis', aof.port)
    t.teardown(() => conn.close())
    const guarded = redisStore({ client: conn.client, prefix: 'g:', readTimeoutMs: 5000, appendTimeoutMs: 5000 })
    const unguarded = redisStore({ client: conn.client, prefix: 'u:', rotateEpochOnServerChange: false, readTimeoutMs: 5000, appendTimeoutMs: 5000 })
    t.teardown(async () => { await guarded.close(); await unguarded.close() })
    const g = await guarded.append('k', { data: 'x' })
    const u = await unguarded.append('k', { data: 'x' })
    await aof.restart()
    await until(() => conn.client.status === 'ready', 'the client reconnects', 5000)
    const gr = await guarded.readAfter('k', g.id)
    t.equal(gr.reason, 'epoch', 'guarded: the persisted stream gets a new epoch after a server change')
    const ur = await unguarded.readAfter('k', u.id)
    t.same(ur, { status: 'ok', events: [], head: u.id, complete: true }, 'unguarded: the persisted epoch carries on')
  })
}
