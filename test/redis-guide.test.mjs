// docs/redis.md's permissions hold: its ACL line, applied to a real redis-server, gives a user
// with which both clients publish, replay, subscribe and close without any refusal, and its
// start-up check (test/readme/redis-ready.mjs, verbatim in the guide) passes as that user and
// fails, naming the command, without one of them.
import t0, { test } from 'tap'
import { spawn } from 'node:child_process'
import { redisStore } from 'fastify-typed-sse/redis'
import { blockBodies, docText } from './helpers/readme.mjs'
import { failOnEscapes } from './helpers/escapes.mjs'
import { CLIENTS, collect, connectClient, requireRedisServer, startRedis } from './helpers/redis-server.mjs'
import { until } from './helpers/wait.mjs'

const root = new URL('../', import.meta.url)
const guide = docText('docs/redis.md')
const blocks = (lang) => blockBodies(guide, [lang])
const ready = new URL('readme/redis-ready.mjs', import.meta.url).pathname

/** The guide's `redis-cli ACL SETUSER …` line as command arguments (single quotes removed). */
function aclLine () {
  const line = blocks('sh').find((b) => b.includes('ACL SETUSER'))
  return line.trim().split(/\s+/).slice(1).map((a) => a.replace(/^'(.*)'$/, '$1'))
}

function run (file, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd: new URL('.', root), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (c) => { out += c })
    child.stderr.on('data', (c) => { out += c })
    child.on('exit', (code) => resolve({ code, out }))
  })
}

test('the guide has its ACL line', async (t) => {
  t.match(aclLine().join(' '), /^ACL SETUSER sse-app on >change-me /)
})

if (requireRedisServer(t0)) {
  const redis = await startRedis()
  t0.teardown(() => redis.stop())
  await redis.command(...aclLine())
  const url = `redis://sse-app:change-me@127.0.0.1:${redis.port}`

  test('redis-ready.mjs passes the start-up check as the guide\'s user', async (t) => {
    const { code, out } = await run(ready, { REDIS_URL: url })
    t.equal(code, 0, out)
    t.match(out, 'the Redis user has every permission the store needs')
  })

  test('and fails it, naming the command, for a user without PUBLISH', async (t) => {
    const args = aclLine().map((a) => a === 'sse-app' ? 'no-publish' : a).filter((a) => a !== '+publish')
    await redis.command(...args)
    const { code, out } = await run(ready, { REDIS_URL: `redis://no-publish:change-me@127.0.0.1:${redis.port}` })
    t.not(code, 0)
    t.match(out, /FST_SSE_STORE_NOPERM/)
    t.match(out, /needs the Redis ACL permission to run PUBLISH/)
  })

  for (const kind of CLIENTS) {
    test(`${kind}: everything the store does works as the guide's user`, async (t) => {
      failOnEscapes(t)
      const errors = []
      const conn = await connectClient(kind, redis.port, { username: 'sse-app', password: 'change-me' })
      const store = redisStore({ client: conn.client, positionCheckMs: 50, lingerMs: 0, onError: (err) => errors.push(err) })
      await store.ready()
      await redis.command('SCRIPT', 'FLUSH') // the user loads the scripts itself (EVAL)
      const live = collect(await store.subscribe(`room-${kind}`))
      const first = await store.append(`room-${kind}`, { data: 'a', idempotencyKey: 'k1' })
      t.same(await store.append(`room-${kind}`, { data: 'a', idempotencyKey: 'k1' }), first)
      await until(() => live.events().length === 1, 'the event to arrive live', 5000)
      const epoch = first.id.split(':')[0]
      t.same((await store.readAfter(`room-${kind}`, `${epoch}:0`)).events.map((e) => e.data), ['a'])
      await store.close()
      await t.rejects(store.ready(), { code: 'FST_SSE_STORE_CLOSED' }, 'a closed store is not checked')
      await live.done
      await conn.close()
      t.same(errors.map((e) => e.message), [], 'no background error (position checks included)')
    })
  }
}
