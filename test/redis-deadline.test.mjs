// An append that timed out is never stored, in every state of the Redis connection (also right
// after a reconnect, before the store knows Redis's clock again), and an outage does not pile
// listeners onto the application's client.
import t0, { test } from 'tap'
import { failOnEscapes } from './helpers/escapes.mjs'
import { CLIENTS, collect, requireRedisServer, startRedis, storeOn } from './helpers/redis-server.mjs'
import { until } from './helpers/wait.mjs'

if (requireRedisServer(t0)) {
  const redis = await startRedis()
  t0.teardown(() => redis.stop())

  const ready = (conn) => conn.kind === 'ioredis' ? conn.client.status === 'ready' : conn.client.isReady === true

  for (const kind of CLIENTS) {
    test(`${kind}: appends refused during CLIENT PAUSE right after a reconnect are never stored`, async (t) => {
      failOnEscapes(t)
      const { store, conn, prefix } = await storeOn(t, kind, redis.port, { appendTimeoutMs: 300, positionCheckMs: 0 })
      const sub = collect(await store.subscribe('k'))
      await store.append('k', { data: 'before' })
      await redis.command('CLIENT', 'KILL', 'TYPE', 'normal').catch(() => {})
      await until(() => !ready(conn), 'the command connection to drop', 2000).catch(() => {})
      await until(() => ready(conn), 'the command connection to come back', 5000)
      await redis.command('CLIENT', 'PAUSE', '1500')
      const paused = await Promise.allSettled([1, 2, 3].map((i) => store.append('k', { data: `paused ${i}` })))
      t.same(paused.map((p) => p.status === 'rejected' ? p.reason.code : 'stored'), Array(3).fill('FST_SSE_STORE_TIMEOUT'), 'every append in the pause is refused')
      // The pause ends; a later append goes through, and is the only thing after `before`.
      await until(async () => store.append('k', { data: 'after' }).then(() => true, () => false), 'an append after the pause', 5000)
      await until(() => sub.events().some((e) => e.data === 'after'), 'the later append delivered', 5000)
      const log = await redis.command('XRANGE', (await redis.command('KEYS', `${prefix}*:log`))[0], '-', '+')
      t.same(log.map(([, fields]) => fields[1]).filter((d) => d !== 'after'), ['before'], 'no refused append was stored')
      t.notOk(sub.events().some((e) => e.data.startsWith('paused')), 'none was delivered')
    })
  }

  // A real outage: the server is stopped and started again, so these run last.
  for (const kind of CLIENTS) {
    test(`${kind}: an outage with many waiting commands adds one ready listener, not one per command`, async (t) => {
      failOnEscapes(t)
      const warnings = []
      const onWarning = (warning) => warnings.push(warning)
      process.on('warning', onWarning)
      t.teardown(() => process.off('warning', onWarning))
      const { store, conn } = await storeOn(t, kind, redis.port, { appendTimeoutMs: 300, readTimeoutMs: 300 })
      await store.append('k', { data: 'warm-up' })
      await redis.kill()
      await until(() => !ready(conn), 'the command connection to drop', 2000)
      const ops = []
      for (let i = 0; i < 30; i++) {
        ops.push(store.append('k', { data: String(i) }).catch((err) => err.code))
        ops.push(store.readAfter('k', 'zzz:1').catch((err) => err.code))
      }
      await new Promise((resolve) => setImmediate(resolve))
      const listeners = conn.client.listenerCount('ready')
      const codes = await Promise.all(ops)
      t.ok(codes.every((code) => code === 'FST_SSE_STORE_TIMEOUT'), 'every command failed with a timeout')
      await new Promise((resolve) => setImmediate(resolve))
      t.ok(listeners <= 3, `${listeners} ready listeners while 60 commands waited`)
      t.same(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message), [], 'no MaxListenersExceededWarning')
      await redis.start()
      await until(() => ready(conn), 'the connection to come back', 5000)
    })
  }
}
