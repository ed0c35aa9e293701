// The Redis store under ACL users that lack a permission it needs, one at a time and in
// generated combinations (seeded: the seed is printed, `SEED=` replays it). Whatever is missing:
// the start-up check names it with FST_SSE_STORE_NOPERM (reported to onError and by ready()),
// every call fails with that code (never a timeout, never a bare script error), nothing is
// stored, and once the permission is granted a retry with the same idempotency key stores the
// event exactly once. Over HTTP the process keeps serving: a refused publish is a coded 503, a
// refused subscriber a 200 carrying a `retry:` hint.
import t0, { test } from 'tap'
import Fastify from 'fastify'
import sse from 'fastify-typed-sse'
import { redisStore } from 'fastify-typed-sse/redis'
import { failOnEscapes } from './helpers/escapes.mjs'
import { rng } from './helpers/rng.mjs'
import { CLIENTS, connectClient, requireRedisServer, startRedis } from './helpers/redis-server.mjs'
import { until } from './helpers/wait.mjs'

// Each profile: the ACL rules after `reset on >pw`, the commands the start-up check must name,
// and which calls on a new stream it breaks.
const ALL = ['append', 'read', 'subscribe']
const FULL = ['~*', '&*', '+@all']
const PROFILES = [
  { name: 'no EVALSHA', rules: [...FULL, '-evalsha'], names: ['EVALSHA'], breaks: ALL },
  { name: 'no EVAL (scripts not loaded yet)', rules: [...FULL, '-eval'], names: ['EVAL'], breaks: ALL },
  { name: 'no TIME', rules: [...FULL, '-time'], names: ['TIME'], breaks: ALL },
  { name: 'no INFO', rules: [...FULL, '-info'], names: ['INFO'], breaks: ALL },
  { name: 'no HMGET', rules: [...FULL, '-hmget'], names: ['HMGET'], breaks: ALL },
  { name: 'no HGET', rules: [...FULL, '-hget'], names: ['HGET'], breaks: ['append'] },
  { name: 'no HSET', rules: [...FULL, '-hset'], names: ['HSET'], breaks: ALL },
  { name: 'no HDEL', rules: [...FULL, '-hdel'], names: ['HDEL'], breaks: ['append'] },
  { name: 'no DEL', rules: [...FULL, '-del'], names: ['DEL'], breaks: ALL },
  { name: 'no XADD', rules: [...FULL, '-xadd'], names: ['XADD'], breaks: ['append'] },
  { name: 'no XRANGE', rules: [...FULL, '-xrange'], names: ['XRANGE'], breaks: ['read', 'subscribe'] },
  { name: 'no PEXPIRE', rules: [...FULL, '-pexpire'], names: ['PEXPIRE'], breaks: ALL },
  { name: 'no PUBLISH', rules: [...FULL, '-publish'], names: ['PUBLISH'], breaks: ALL },
  { name: 'no SUBSCRIBE', rules: [...FULL, '-subscribe'], names: ['SUBSCRIBE'], breaks: ['subscribe'] },
  { name: 'no channels (Redis 7 default resetchannels)', rules: ['~*', 'resetchannels', '+@all'], names: ['PUBLISH', 'SUBSCRIBE'], breaks: ALL },
  { name: 'read-only keys', rules: ['%R~*', '&*', '+@all'], names: ['HSET', 'XADD', 'DEL'], breaks: ALL },
  { name: 'keys of another prefix only', rules: ['~other:*', '&*', '+@all'], names: ['HMGET', 'XADD'], breaks: ALL }
]

// Generated combinations of two or three missing commands among those every call needs.
const SEED = Number(process.env.SEED ?? (Date.now() % 1_000_000))
const COMMON = ['time', 'info', 'hmget', 'hset', 'pexpire', 'publish', 'del']
function generated (count) {
  const next = rng(SEED)
  const out = []
  for (let i = 0; i < count; i++) {
    const missing = [...COMMON].sort(() => next() - 0.5).slice(0, 2 + Math.floor(next() * 2))
    out.push({ name: `generated: no ${missing.join(', ')}`, rules: [...FULL, ...missing.map((c) => '-' + c)], names: missing.map((c) => c.toUpperCase()), breaks: ALL })
  }
  return out
}

if (requireRedisServer(t0)) {
  t0.comment(`SEED=${SEED}`)
  const redis = await startRedis()
  t0.teardown(() => redis.stop())
  let users = 0

  /** A fresh ACL user with `rules`, and a way to grant it everything afterwards. */
  async function user (rules) {
    const name = `u${++users}`
    await redis.command('ACL', 'SETUSER', name, 'reset', 'on', '>pw', ...rules)
    return { name, grant: () => redis.command('ACL', 'SETUSER', name, 'reset', 'on', '>pw', ...FULL) }
  }

  async function storeAs (t, kind, name, options = {}) {
    const conn = await connectClient(kind, redis.port, { username: name, password: 'pw' })
    const errors = []
    const prefix = `acl${users}:`
    const store = redisStore({ client: conn.client, prefix, appendTimeoutMs: 1500, readTimeoutMs: 1500, lingerMs: 0, onError: (err) => errors.push(err), ...options })
    t.teardown(async () => { await store.close(); await conn.close() })
    return { store, conn, errors, prefix }
  }

  const keysUnder = async (prefix) => (await redis.command('KEYS', `${prefix}*`)).sort()
  const codeOf = (promise) => promise.then(() => 'ok', (err) => err.code ?? err.message)

  for (const kind of CLIENTS) {
    for (const profile of [...PROFILES, ...generated(3)]) {
      test(`${kind}, ${profile.name}: a coded NOPERM at start-up and on every refused call, nothing stored, then exactly once`, async (t) => {
        failOnEscapes(t)
        // Scripts must be loaded by this user (EVAL) whenever the server does not know them.
        await redis.command('SCRIPT', 'FLUSH')
        const u = await user(profile.rules)
        const { store, errors, prefix } = await storeAs(t, kind, u.name)

        // Start-up: the check runs by itself and says what is missing.
        const startup = await until(() => errors.find((e) => e.code === 'FST_SSE_STORE_NOPERM'), 'the start-up check to report to onError', 5000)
        await t.rejects(store.ready(), { code: 'FST_SSE_STORE_NOPERM', statusCode: 503 }, 'ready() rejects with the coded error')
        for (const command of profile.names) t.match(startup.message, command, `the start-up error names ${command}`)
        t.notMatch(startup.message, /@user_script/, 'no bare script location')

        // A publish: refused with the code, fast, and nothing is left behind.
        const started = Date.now()
        const append = await store.append('orders', { data: 'order-42', idempotencyKey: 'order-42' }).then((e) => e, (err) => err)
        if (profile.breaks.includes('append')) {
          t.equal(append.code, 'FST_SSE_STORE_NOPERM', `append refused with the code (${append.message})`)
          t.notMatch(append.message, /@user_script|a command it sends/, 'the message says what is missing')
          t.ok(Date.now() - started < 1500, 'refused at once, not after the append timeout')
          if (append.cause !== undefined) t.match(String(append.cause.message), /NOPERM|can't/, 'the cause is Redis\'s refusal')
          t.same(await keysUnder(prefix), [], 'nothing was written')
          t.same(errors.filter((e) => e.code !== 'FST_SSE_STORE_NOPERM'), [], 'onError got nothing but the coded error')
        } else {
          t.match(append.id, /^[\w-]+:1$/, 'a call this user may make works')
        }
        for (const [op, call] of [['read', () => store.readAfter('other', 'zzz:1')], ['subscribe', () => store.subscribe('third').then((s) => s.close())]]) {
          const code = await codeOf(call())
          t.equal(code, profile.breaks.includes(op) ? 'FST_SSE_STORE_NOPERM' : 'ok', `${op}: ${code}`)
        }
        const orders = `${prefix}{${Buffer.from('orders').toString('base64url')}}`
        if (profile.breaks.includes('append')) t.same(await keysUnder(orders), [], 'still nothing of the refused stream')

        // Granted: the retry with the same key stores it once, and repeats answer the first result.
        await u.grant()
        await store.ready()
        const first = await store.append('orders', { data: 'order-42', idempotencyKey: 'order-42' })
        const again = await store.append('orders', { data: 'order-42', idempotencyKey: 'order-42' })
        t.same(again, first, 'a repeat answers the first result')
        const log = (await keysUnder(prefix)).find((k) => k.endsWith(':log'))
        const entries = await redis.command('XRANGE', log, '-', '+')
        t.same(entries.map(([, f]) => f[1]), ['order-42'], 'stored exactly once')
      })
    }
  }

  for (const kind of CLIENTS) {
    test(`${kind}: over HTTP, a refused publish is a coded 503, a refused subscriber a 200 with a retry: hint, and the process keeps serving`, async (t) => {
      failOnEscapes(t)
      const u = await user(['~*', 'resetchannels', '+@all'])
      const { store, prefix } = await storeAs(t, kind, u.name)
      const app = Fastify()
      await app.register(sse, { store, limitRetryMs: 7000 })
      const chat = app.sse.stream('chat')
      app.get('/chat', (request, reply) => reply.sse.subscribe(chat))
      app.post('/chat', async (request) => chat.publish({ data: request.body }))
      app.get('/health', async () => ({ ok: true }))
      t.teardown(() => app.close())
      await app.ready()

      const published = await app.inject({ method: 'POST', url: '/chat', payload: { text: 'hi' } })
      t.equal(published.statusCode, 503)
      t.equal(published.json().code, 'FST_SSE_STORE_NOPERM')
      const subscribed = await app.inject({ method: 'GET', url: '/chat', headers: { accept: 'text/event-stream' } })
      t.equal(subscribed.statusCode, 200, 'a 200: any other status makes EventSource give up for good')
      const retry = /^retry: (\d+)$/m.exec(subscribed.body)
      t.ok(retry, `the stream carries a retry: hint (${JSON.stringify(subscribed.body)})`)
      t.ok(Number(retry?.[1]) >= 7000 && Number(retry?.[1]) < 14000, 'drawn between limitRetryMs and twice that')
      t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'the process keeps serving')
      t.same(await keysUnder(prefix), [], 'nothing stored')
    })
  }
}
