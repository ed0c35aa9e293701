// The code in docs/redis.md is the code in test/readme/redis-*.mjs, verbatim, and it runs:
// an instance starts, delivers a published event, and shuts down cleanly on SIGTERM.
import t0, { test } from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import http from 'node:http'
import { EventStreamDecoder } from 'fastify-typed-sse/testing'
import { blockBodies, docText } from './helpers/readme.mjs'
import { CLIENTS, requireRedisServer, startInstance, startRedis } from './helpers/redis-server.mjs'
import { until } from './helpers/wait.mjs'

const root = new URL('../', import.meta.url)

test('every code block of docs/redis.md is a file under test/readme, and back', async (t) => {
  const blocks = blockBodies(docText('docs/redis.md'), ['js'])
  const files = readdirSync(new URL('test/readme/', root)).filter((f) => /^redis-.*\.mjs$/.test(f))
  t.ok(blocks.length > 0, 'the doc has code')
  const contents = new Map(files.map((f) => [f, readFileSync(new URL(`test/readme/${f}`, root), 'utf8')]))
  for (const [i, block] of blocks.entries()) {
    t.ok([...contents.values()].includes(block), `block ${i + 1} exists verbatim under test/readme`)
  }
  for (const [file, text] of contents) t.ok(blocks.includes(text), `${file} is in the doc`)
})

if (requireRedisServer(t0)) {
  const redis = await startRedis()
  t0.teardown(() => redis.stop())
  const clients = async () => String(await redis.command('CLIENT', 'LIST')).trim().split('\n').length

  for (const kind of CLIENTS) {
    test(`the ${kind} example serves, delivers and closes cleanly`, async (t) => {
      const before = await clients()
      const instance = await startInstance(t, kind, redis.url)
      const decoder = new EventStreamDecoder({ onEvent: (event) => received.push(event) })
      const received = []
      const request = http.get(instance.base + '/chat', { agent: false }, (response) => response.on('data', (c) => decoder.push(c)))
      request.on('error', () => {})
      t.teardown(() => request.destroy())
      await until(() => decoder.lastEventId !== '', 'the stream opens with its position', 5000)
      const response = await fetch(instance.base + '/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"hi"}' })
      const stored = await response.json()
      await until(() => received.length === 1, 'the published event arrives', 5000)
      t.same(received[0], { type: 'message', data: '{"text":"hi"}', lastEventId: stored.id })
      request.destroy()
      const exited = new Promise((resolve) => instance.child.once('exit', (code, signal) => resolve({ code, signal })))
      instance.child.kill('SIGTERM')
      t.same(await exited, { code: 0, signal: null }, 'SIGTERM closes the app, the store and the client, and the process ends by itself')
      await until(async () => (await clients()) === before, 'every Redis connection it opened is closed', 3000)
    })
  }
}
