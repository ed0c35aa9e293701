// Redis store benchmark. Starts its own redis-server on a free loopback port.
//
//   node bench/redis.mjs [--appends 20000] [--concurrency 50] [--subscribers 5000] [--events 40] [--skip-fanout]
//   node bench/redis.mjs --cluster [--appends 20000] [--concurrency 50] [--subscribers 5000] [--events 40] [--skip-fanout]
//
// 1. Appends through the store (ioredis and node-redis): latency p50/p99 one at a time, and
//    throughput with `concurrency` appends in flight.
// 2. Redis commands per publish, from INFO commandstats, with 100 local subscriptions and a
//    second instance subscribed: the bar is one round trip (EVALSHA) per publish and nothing
//    per subscriber; and the time Redis spends in each publish's script.
// 3. Fan-out latency, publish to receive: `subscribers` SSE clients on instance B, the
//    publisher on instance A (separate processes, Redis store), against one process with the
//    memory store. Clients are in this process; each event carries its publish time.
//
// With --cluster, one node against a Redis Cluster of 3 primaries (no replicas), both started
// here, in the same run: publishes/s with `concurrency` in flight spread over 100 streams, the
// commands each node ran per publish (INFO commandstats), and the fan-out of 3. through each.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import http from 'node:http'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { command, connectClient, startRedis } from '../test/helpers/redis-server.mjs'

const now = () => performance.timeOrigin + performance.now()

if (process.argv[2] === 'instance') await instance(process.argv[3])
else await main()

async function instance (mode) {
  const { default: Fastify } = await import('fastify')
  const { default: sse } = await import('fastify-typed-sse')
  const { redisStore } = await import('fastify-typed-sse/redis')
  let store, client
  if (mode === 'redis') {
    const { Redis } = await import('ioredis')
    client = new Redis(process.env.REDIS_URL)
    store = redisStore({ client })
  } else if (mode === 'cluster') {
    const { Cluster } = await import('ioredis')
    client = new Cluster(JSON.parse(process.env.REDIS_CLUSTER))
    store = redisStore({ client })
  }
  const app = Fastify()
  await app.register(sse, store ? { store } : {})
  const s = app.sse.stream('fan')
  app.get('/s', (request, reply) => reply.sse.subscribe(s))
  app.post('/pub', async () => s.publish({ data: String(now()) }))
  app.addHook('onClose', async () => { await store?.close(); client?.disconnect() })
  process.once('SIGTERM', () => app.close())
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  console.log(`listening on ${address}`)
}

async function main () {
  const { values } = parseArgs({
    options: {
      appends: { type: 'string', default: '20000' },
      concurrency: { type: 'string', default: '50' },
      subscribers: { type: 'string', default: '5000' },
      events: { type: 'string', default: '40' },
      'skip-fanout': { type: 'boolean', default: false },
      cluster: { type: 'boolean', default: false }
    }
  })
  if (values.cluster) return clusterComparison(values)
  const appends = Number(values.appends)
  const concurrency = Number(values.concurrency)
  const { redisStore } = await import('fastify-typed-sse/redis')
  const redis = await startRedis()
  const version = String(await command(redis.port, ['INFO', 'server'])).match(/redis_version:(\S+)/)[1]
  console.log(`redis-server ${version}, node ${process.version}, loopback, data 100 bytes\n`)
  try {
    for (const kind of ['ioredis', 'node-redis']) {
      const conn = await connectClient(kind, redis.port)
      const store = redisStore({ client: conn.client, prefix: `bench-${kind}:` })
      const data = 'x'.repeat(100)
      for (let i = 0; i < 500; i++) await store.append('warm', { data })
      const latencies = []
      const sequential = Math.min(appends, 5000)
      for (let i = 0; i < sequential; i++) {
        const started = performance.now()
        await store.append('seq', { data })
        latencies.push(performance.now() - started)
      }
      let next = 0
      const started = performance.now()
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (next++ < appends) await store.append('par', { data })
      }))
      const seconds = (performance.now() - started) / 1000
      console.log(`${kind}: append one at a time (${sequential}): p50 ${ms(pct(latencies, 50))} p99 ${ms(pct(latencies, 99))}; ` +
        `${concurrency} in flight (${appends}): ${Math.round(appends / seconds)} appends/s`)

      // Commands per publish, with local subscribers and a second instance listening.
      const other = await connectClient(kind, redis.port)
      const second = redisStore({ client: other.client, prefix: `bench-${kind}:` })
      const subs = await Promise.all(Array.from({ length: 100 }, () => store.subscribe('cmd')))
      const remote = await second.subscribe('cmd')
      const drain = [...subs, remote].map(async (sub) => {
        let received = 0
        for await (const item of sub) if (item.type === 'event') received++
        return received
      })
      const publishes = 1000
      const scriptUsec = async () => Number(/cmdstat_evalsha:calls=\d+,usec=(\d+)/.exec(await command(redis.port, ['INFO', 'commandstats']))?.[1] ?? 0)
      const usecBefore = await scriptUsec()
      const before = await redis.commandStats()
      for (let i = 0; i < publishes; i++) await store.append('cmd', { data })
      await new Promise((resolve) => setTimeout(resolve, 200))
      const after = await redis.commandStats()
      const usecAfter = await scriptUsec()
      const delta = Object.fromEntries(Object.entries(after)
        .map(([k, v]) => [k, v - (before[k] ?? 0) - (k === 'info' ? 1 : 0)]).filter(([, v]) => v > 0))
      const perPublish = Object.entries(delta).map(([k, v]) => `${k} ${(v / publishes).toFixed(3)}`).join(', ')
      console.log(`${kind}: commands per publish (101 subscribers on 2 instances; script-internal calls included): ${perPublish}`)
      console.log(`${kind}: Redis time per publish script (EVALSHA, from INFO commandstats): ${((usecAfter - usecBefore) / publishes).toFixed(1)} µs`)
      await Promise.all([...subs, remote].map((s) => s.close()))
      await Promise.all(drain)
      await second.close()
      await other.close()
      await store.close()
      await conn.close()
    }
    if (!values['skip-fanout']) {
      const n = Number(values.subscribers)
      const events = Number(values.events)
      const memory = await fanout({ mode: 'memory', n, events, redisUrl: redis.url })
      const shared = await fanout({ mode: 'redis', n, events, redisUrl: redis.url })
      console.log(`\nfan-out to ${n} subscribers, ${events} events at 10/s, publish -> receive:`)
      console.log(`  memory store, one process:           p50 ${ms(memory.p50)} p99 ${ms(memory.p99)} (${memory.samples} samples)`)
      console.log(`  redis store, publisher on A, subs on B: p50 ${ms(shared.p50)} p99 ${ms(shared.p99)} (${shared.samples} samples)`)
      console.log(`  ratio p50 ${(shared.p50 / memory.p50).toFixed(2)}x, p99 ${(shared.p99 / memory.p99).toFixed(2)}x`)
    }
  } finally {
    await redis.stop()
  }
}

async function clusterComparison (values) {
  const appends = Number(values.appends)
  const concurrency = Number(values.concurrency)
  const { redisStore } = await import('fastify-typed-sse/redis')
  const { startCluster, connectCluster } = await import('../test/helpers/redis-cluster.mjs')
  const redis = await startRedis()
  // Primaries only: on two cores, replicas would take CPU from the primaries they copy.
  const cluster = await startCluster({ replicas: 0 })
  const version = String(await command(redis.port, ['INFO', 'server'])).match(/redis_version:(\S+)/)[1]
  console.log(`redis-server ${version}, node ${process.version}, loopback, data 100 bytes; cluster: 3 primaries, no replicas\n`)
  const streams = Array.from({ length: 100 }, (_, i) => `stream-${i}`)
  const data = 'x'.repeat(100)
  const run = async (store) => {
    for (const s of streams) await store.append(s, { data })
    let next = 0
    const started = performance.now()
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < appends) await store.append(streams[next++ % streams.length], { data })
    }))
    return appends / ((performance.now() - started) / 1000)
  }
  try {
    for (const kind of ['ioredis', 'node-redis']) {
      const single = await connectClient(kind, redis.port)
      const one = redisStore({ client: single.client, prefix: `bench-${kind}:` })
      const oneRate = await run(one)
      await one.close()
      await single.close()

      const conn = await connectCluster(kind, cluster)
      const store = redisStore({ client: conn.client, prefix: `bench-${kind}:` })
      for (const s of streams) await store.append(s, { data })
      const before = await cluster.commandStats()
      const rate = await run(store)
      const after = await cluster.commandStats()
      await store.close()
      await conn.close()
      const total = appends + streams.length
      const perNode = Object.keys(after).map((port) => {
        const d = (name) => (after[port][name] ?? 0) - (before[port]?.[name] ?? 0)
        return `${port}: evalsha ${(100 * d('evalsha') / total).toFixed(1)}% of publishes, spublish ${d('spublish')}, publish ${d('publish')}`
      })
      console.log(`${kind}: ${concurrency} in flight over ${streams.length} streams (${appends}): one node ${Math.round(oneRate)} publishes/s, ` +
        `cluster ${Math.round(rate)} publishes/s (${(rate / oneRate).toFixed(2)}x)`)
      for (const line of perNode) console.log(`  ${line}`)
      // Every command the cluster ran, per publish (script-internal calls included).
      const sums = {}
      for (const port of Object.keys(after)) {
        for (const [name, calls] of Object.entries(after[port])) {
          const d = calls - (before[port]?.[name] ?? 0) - (name === 'info' ? 1 : 0)
          if (d > 0) sums[name] = (sums[name] ?? 0) + d
        }
      }
      console.log(`  per publish, all nodes: ${Object.entries(sums).map(([k, v]) => `${k} ${(v / total).toFixed(2)}`).join(', ')}`)
    }
    if (!values['skip-fanout']) {
      const n = Number(values.subscribers)
      const events = Number(values.events)
      const startup = JSON.stringify(cluster.startup)
      const one = await fanout({ mode: 'redis', n, events, redisUrl: redis.url })
      const sharded = await fanout({ mode: 'cluster', n, events, redisUrl: redis.url, cluster: startup })
      console.log(`\nfan-out to ${n} subscribers on instance B, publisher on A (ioredis), ${events} events at 10/s, publish -> receive:`)
      console.log(`  one node:           p50 ${ms(one.p50)} p99 ${ms(one.p99)} (${one.samples} samples)`)
      console.log(`  cluster (sharded):  p50 ${ms(sharded.p50)} p99 ${ms(sharded.p99)} (${sharded.samples} samples)`)
    }
  } finally {
    await cluster.stop()
    await redis.stop()
  }
}

async function fanout ({ mode, n, events, redisUrl, cluster }) {
  const started = []
  const spawnInstance = async () => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'instance', mode], {
      env: { ...process.env, REDIS_URL: redisUrl, REDIS_CLUSTER: cluster ?? '' }, stdio: ['ignore', 'pipe', 'inherit']
    })
    started.push(child)
    let out = ''
    child.stdout.on('data', (c) => { out += c })
    while (!/listening on (\S+)/.test(out)) {
      if (child.exitCode !== null) throw new Error('instance exited: ' + out)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    return /listening on (\S+)/.exec(out)[1]
  }
  try {
    const b = await spawnInstance()
    const a = mode === 'memory' ? b : await spawnInstance()
    const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity })
    const latencies = []
    let connected = 0
    let onAllConnected
    const allConnected = new Promise((resolve) => { onAllConnected = resolve })
    const requests = []
    for (let i = 0; i < n; i++) {
      requests.push(http.get(b + '/s', { agent }, (response) => {
        if (++connected === n) onAllConnected()
        let buffer = ''
        response.setEncoding('utf8')
        response.on('data', (chunk) => {
          const at = now()
          buffer += chunk
          let end
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            const data = /^data: (.*)$/m.exec(block)
            if (data !== null) latencies.push(at - Number(data[1]))
          }
        })
      }).on('error', () => {}))
      if (i % 200 === 199) await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await allConnected
    await new Promise((resolve) => setTimeout(resolve, 500))
    for (let i = 0; i < events; i++) {
      await fetch(a + '/pub', { method: 'POST' })
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const until = Date.now() + 10_000
    while (latencies.length < n * events && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50))
    for (const r of requests) r.destroy()
    return { p50: pct(latencies, 50), p99: pct(latencies, 99), samples: latencies.length }
  } finally {
    for (const child of started) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
      if (child.exitCode === null) await once(child, 'exit')
      clearTimeout(timer)
    }
  }
}

function pct (values, p) {
  const sorted = [...values].sort((x, y) => x - y)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p / 100))] ?? NaN
}

function ms (value) {
  return `${value.toFixed(2)} ms`
}
