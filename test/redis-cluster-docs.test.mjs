// The code in docs/redis.md's "Redis Cluster" is the code in test/readme/redis-cluster-*.mjs,
// verbatim, and it runs against a real Redis Cluster: an instance starts, subscribes its stream
// with SSUBSCRIBE on the primary that owns it, delivers a published event, and shuts down
// cleanly on SIGTERM.
import t0, { test } from 'tap'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import { EventStreamDecoder } from 'fastify-typed-sse/testing'
import { blockBodies, docSection } from './helpers/readme.mjs'
import { CLIENTS, requireRedisServer, startInstance } from './helpers/redis-server.mjs'
import { channelOf, slotOf, startCluster } from './helpers/redis-cluster.mjs'
import { until } from './helpers/wait.mjs'

const root = new URL('../', import.meta.url)
const EXAMPLES = { ioredis: 'redis-cluster-ioredis.mjs', 'node-redis': 'redis-cluster-node-redis.mjs' }

test('every code block of "Redis Cluster" in docs/redis.md is a file under test/readme, and back', async (t) => {
  const blocks = blockBodies(docSection('docs/redis.md', 'Redis Cluster'), ['js'])
  t.equal(blocks.length, 2, 'one example per client')
  const contents = new Map(Object.values(EXAMPLES).map((f) => [f, readFileSync(new URL(`test/readme/${f}`, root), 'utf8')]))
  for (const [i, block] of blocks.entries()) t.ok([...contents.values()].includes(block), `block ${i + 1} exists verbatim under test/readme`)
  for (const [file, text] of contents) t.ok(blocks.includes(text), `${file} is in the doc`)
})

if (requireRedisServer(t0)) {
  const cluster = await startCluster({ replicas: 0 })
  t0.teardown(() => cluster.stop())
  const channel = channelOf('sse:', 'chat')

  for (const kind of CLIENTS) {
    test(`the ${kind} cluster example serves, delivers and closes cleanly`, async (t) => {
      const env = { REDIS_CLUSTER: cluster.startup.slice(0, 2).map((n) => `${n.host}:${n.port}`).join(',') }
      const instance = await startInstance(t, kind, '', { file: EXAMPLES[kind], env })
      const received = []
      const decoder = new EventStreamDecoder({ onEvent: (event) => received.push(event) })
      const request = http.get(instance.base + '/chat', { agent: false }, (response) => response.on('data', (c) => decoder.push(c)))
      request.on('error', () => {})
      t.teardown(() => request.destroy())
      await until(() => decoder.lastEventId !== '', 'the stream opens with its position', 10_000)
      const owner = await cluster.ownerOf(slotOf(channel))
      t.same(await cluster.command(owner, 'PUBSUB', 'SHARDNUMSUB', channel), [channel, 1], 'subscribed with SSUBSCRIBE on the owning primary')
      const response = await fetch(instance.base + '/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"hi"}' })
      const stored = await response.json()
      await until(() => received.length === 1, 'the published event arrives', 5000)
      t.same(received[0], { type: 'message', data: '{"text":"hi"}', lastEventId: stored.id })
      request.destroy()
      const exited = new Promise((resolve) => instance.child.once('exit', (code, signal) => resolve({ code, signal })))
      instance.child.kill('SIGTERM')
      t.same(await exited, { code: 0, signal: null }, 'SIGTERM closes the app, the store and the client, and the process ends by itself')
    })
  }
}
