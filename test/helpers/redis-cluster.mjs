// A real local Redis Cluster per test file: 3 primaries + 3 replicas of redis-server on free
// loopback ports (each with its bus on another free port), joined by `redis-cli --cluster
// create`, stopped and removed by the test. Admin commands go over raw sockets (see
// redis-server.mjs), never through the clients under test.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { command, freePort, openEventStream } from './redis-server.mjs'
import { until } from './wait.mjs'

/** The hash slot of a key, as Redis computes it (CRC16/XMODEM of the hash tag, mod 16384). */
export function slotOf (key) {
  const bytes = Buffer.from(key, 'utf8')
  let start = 0
  let end = bytes.length
  const open = bytes.indexOf(0x7b)
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1)
    if (close > open + 1) { start = open + 1; end = close }
  }
  let crc = 0
  for (let i = start; i < end; i++) {
    crc ^= bytes[i] << 8
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc % 16384
}

export function redisCliAvailable () {
  return spawnSync('redis-cli', ['--version'], { encoding: 'utf8' }).status === 0
}

/**
 * Starts the cluster. `nodeTimeoutMs` is how long a silent primary takes to be failed over
 * (short, so a failover test is quick; long enough that a busy machine does not fail over by
 * itself).
 */
export async function startCluster ({ primaries = 3, replicas = 1, nodeTimeoutMs = 2000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'fts-cluster-'))
  const nodes = []
  for (let i = 0; i < primaries * (1 + replicas); i++) {
    nodes.push(await startNode(dir, i, nodeTimeoutMs))
  }
  const create = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`),
    '--cluster-replicas', String(replicas), '--cluster-yes'], { encoding: 'utf8', timeout: 60_000 })
  if (create.status !== 0) {
    await Promise.all(nodes.map((n) => n.kill()))
    throw new Error(`redis-cli --cluster create failed:\n${create.stdout}\n${create.stderr}`)
  }
  const cluster = {
    nodes,
    dir,
    /** Start-up nodes for the clients: every node, primary or replica. */
    startup: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
    /** Runs one command on the node listening on `port`. */
    command: (port, ...args) => command(port, args),
    /** Live nodes' view: primaries with the slot ranges they serve. */
    async shards () {
      const live = nodes.find((n) => n.alive())
      const slots = await command(live.port, ['CLUSTER', 'SLOTS'])
      return slots.map(([from, to, [, port, id], ...rest]) => ({ from, to, port, id, replicas: rest.map((r) => r[1]) }))
    },
    /** The port of the primary serving `slot`, as the live nodes agree on it. */
    async ownerOf (slot) {
      const shards = await cluster.shards()
      return shards.find((s) => s.from <= slot && slot <= s.to)?.port
    },
    /**
     * Waits until every live node agrees the cluster is ok and on who serves each slot; with
     * `replicas`, also until every primary has a replica in sync (ready for another failover).
     */
    async settled ({ ms = 30_000, replicas = false } = {}) {
      await until(async () => {
        if (replicas) {
          const shards = await cluster.shards().catch(() => [])
          if (shards.length === 0 || shards.some((s) => s.replicas.length === 0)) return false
          for (const shard of shards) {
            for (const port of shard.replicas) {
              const info = await command(port, ['INFO', 'replication']).catch(() => '')
              if (!/master_link_status:up/.test(info)) return false
            }
          }
        }
        const live = nodes.filter((n) => n.alive())
        const views = await Promise.all(live.map(async (n) => {
          try {
            const info = await command(n.port, ['CLUSTER', 'INFO'])
            if (!/cluster_state:ok/.test(info)) return undefined
            const slots = await command(n.port, ['CLUSTER', 'SLOTS'])
            return JSON.stringify(slots.map(([from, to, [, port]]) => [from, to, port]).sort((a, b) => a[0] - b[0]))
          } catch { return undefined }
        }))
        return views.every((v) => v !== undefined && v === views[0])
      }, 'the cluster to settle', ms)
    },
    node: (port) => nodes.find((n) => n.port === port),
    /** INFO commandstats calls per command, per node port. */
    async commandStats () {
      const out = {}
      await Promise.all(nodes.filter((n) => n.alive()).map(async (n) => { out[n.port] = await n.commandStats() }))
      return out
    },
    async stop () {
      await Promise.all(nodes.map((n) => n.kill()))
      rmSync(dir, { recursive: true, force: true })
    }
  }
  await cluster.settled({ replicas: replicas > 0 })
  return cluster
}

async function startNode (dir, i, nodeTimeoutMs) {
  const port = await freePort()
  // The bus port is chosen too: port + 10000 may be taken, or past 65535.
  let bus = await freePort()
  while (bus === port) bus = await freePort()
  const args = ['--port', String(port), '--cluster-port', String(bus), '--bind', '127.0.0.1',
    '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${i}.conf`, '--cluster-node-timeout', String(nodeTimeoutMs),
    // The other shards keep serving while one fails over (the setting the guide recommends).
    '--cluster-require-full-coverage', 'no',
    '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes']
  let child
  const node = {
    port,
    alive: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    async start () {
      child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`cluster node ${port} not ready after 10 s:\n${out}`)), 10_000)
        child.stdout.on('data', (chunk) => {
          out += chunk
          if (out.includes('Ready to accept connections')) { clearTimeout(timer); resolve() }
        })
        child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`cluster node exited (${code}):\n${out}`)) })
      })
      child.removeAllListeners('exit')
      child.stdout.resume()
    },
    async kill (signal = 'SIGKILL') {
      if (!node.alive()) return
      const gone = once(child, 'exit')
      child.kill(signal)
      await gone
    },
    command: (...a) => command(port, a),
    async commandStats () {
      const text = await command(port, ['INFO', 'commandstats'])
      const stats = {}
      for (const m of String(text).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) stats[m[1]] = Number(m[2])
      return stats
    }
  }
  await node.start()
  return node
}

/** Cluster clients of the given kind, connected; `close()` ends it whatever its state. */
export async function connectCluster (kind, cluster, extra = {}) {
  if (kind === 'ioredis') {
    const { Cluster } = await import('ioredis')
    const client = new Cluster(cluster.startup, { retryDelayOnFailover: 100, retryDelayOnClusterDown: 100, ...extra })
    client.on('error', () => {})
    if (client.status !== 'ready') await once(client, 'ready')
    return { kind, client, close: async () => { client.disconnect() } }
  }
  const { createCluster } = await import('redis')
  const client = createCluster({ rootNodes: cluster.startup.map((n) => ({ socket: n })), ...extra })
  client.on('error', () => {})
  await client.connect()
  return { kind, client, close: async () => { try { client.destroy() } catch {} } }
}

/** The shard channel of a store key under `prefix`, as the store names it. */
export function channelOf (prefix, storeKey) {
  return `${prefix}{${Buffer.from(storeKey, 'utf8').toString('base64url')}}:ch`
}

/**
 * Names for the keyed stream `s` (store key `s:<name>`), `perShard` on each primary, so a test
 * covers every shard. Returns [{ name, slot, port }] grouped shard after shard.
 */
export async function streamsOnShards (cluster, prefix, perShard) {
  const shards = await cluster.shards()
  const out = []
  for (const shard of shards) {
    let found = 0
    for (let i = 0; found < perShard; i++) {
      const name = `p${shard.port}n${i}`
      const slot = slotOf(channelOf(prefix, 's:' + name))
      if (slot >= shard.from && slot <= shard.to) { out.push({ name, slot, port: shard.port }); found++ }
    }
  }
  return out
}

/**
 * One Fastify instance on a cluster client of the given kind and a redisStore on it: the keyed
 * stream `s`, subscribed at GET /s/:name and published to at POST /s/:name.
 */
export async function clusterInstance (t, kind, cluster, { build, listen, redisStore }, storeOptions = {}) {
  const conn = await connectCluster(kind, cluster)
  const store = redisStore({ client: conn.client, positionCheckMs: 0, ...storeOptions })
  const app = await build(t, { store })
  const stream = app.sse.stream('s', { key: (request) => request.params.name })
  app.get('/s/:name', (request, reply) => reply.sse.subscribe(stream))
  app.post('/s/:name', async (request) => stream.publish({ data: request.body }, { key: request.params.name }))
  t.teardown(async () => { await store.close(); await conn.close() })
  const base = `http://127.0.0.1:${await listen(app)}`
  return { app, store, stream, conn, base }
}

/** POST one event; resolves with the stored event, or rejects with the status. */
export async function post (base, name, body) {
  const response = await fetch(`${base}/s/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  if (response.status !== 200) throw new Error(`publish to ${name}: ${response.status} ${await response.text()}`)
  return response.json()
}

/** Calls per command per node between two snapshots (INFO's own call left out). */
export function clusterDelta (before, after) {
  const out = {}
  for (const [port, stats] of Object.entries(after)) {
    out[port] = {}
    for (const [name, calls] of Object.entries(stats)) {
      const d = calls - (before[port]?.[name] ?? 0) - (name === 'info' ? 1 : 0)
      if (d > 0) out[port][name] = d
    }
  }
  return out
}

/**
 * Two instances on cluster clients of `kind`, a publisher over `perShard` streams per shard
 * (posting from alternating instances) and one client per stream per instance. Calls
 * `trigger(shard)` with the shard at `index` (by slot order) once every stream has events, and
 * stops once that shard's streams took ten more publishes. Returns what the clients and the
 * publishers saw, and the `window` from the trigger to the end.
 */
export async function publishThrough (t, kind, cluster, lib, { prefix, index, perShard = 2 }, trigger) {
  const options = { prefix, appendTimeoutMs: 1000 }
  const [a, b] = await Promise.all([clusterInstance(t, kind, cluster, lib, options), clusterInstance(t, kind, cluster, lib, options)])
  const instances = [a, b]
  const streams = await streamsOnShards(cluster, prefix, perShard)
  const shard = (await cluster.shards()).sort((x, y) => x.from - y.from)[index]
  const hit = streams.filter((s) => s.port === shard.port)
  const source = { ...shard }
  const clients = streams.flatMap((s) => instances.map((inst) => ({ stream: s, conn: openEventStream(`${inst.base}/s/${s.name}`) })))
  t.teardown(() => clients.forEach((c) => c.conn.close()))
  await until(() => clients.every((c) => c.conn.decoder.lastEventId !== ''), 'every client positioned', 15_000)

  const published = new Map(streams.map((s) => [s.name, []]))
  const failed = new Map(streams.map((s) => [s.name, 0]))
  const afterwards = new Map(streams.map((s) => [s.name, 0]))
  const reasons = new Set()
  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
  const state = { stop: false }
  let triggered = false
  // Each stream has its own publisher, posting from alternating instances: a stream whose
  // shard is failing over does not hold back the others.
  const publishing = Promise.all(streams.map(async (s, i) => {
    for (let r = 0; !state.stop; r++) {
      try {
        const event = await instances[(r + i) % 2].stream.publish({ data: { r } }, { key: s.name })
        published.get(s.name).push(event.id)
        if (triggered) afterwards.set(s.name, afterwards.get(s.name) + 1)
      } catch (err) {
        failed.set(s.name, failed.get(s.name) + 1)
        reasons.add(String(err.message))
      }
      await pause(20)
    }
  }))
  await until(() => streams.every((s) => published.get(s.name).length >= 10), 'ten events on every stream before the trigger')
  const window = { from: Date.now() }
  await trigger(shard, { hit, streams })
  triggered = true
  try {
    await until(() => hit.every((s) => afterwards.get(s.name) >= 10), 'ten more publishes on the triggered shard', 30_000)
  } finally {
    state.stop = true
    await publishing
  }
  window.to = Date.now()
  const last = (s) => published.get(s.name).at(-1)
  try {
    await until(() => clients.every((c) => c.conn.decoder.lastEventId === last(c.stream)), 'every client reaches the last event of its stream', 20_000)
  } catch (err) {
    const behind = clients.filter((c) => c.conn.decoder.lastEventId !== last(c.stream))
    err.message += '\n' + JSON.stringify(behind.map((c) => ({ stream: c.stream.name, hit: hit.includes(c.stream), at: c.conn.decoder.lastEventId, last: last(c.stream), got: c.conn.received.slice(-3).map((e) => [e.type, e.lastEventId]) })), null, 1)
    throw err
  }
  return { streams, hit, clients, published, failed, reasons, source, window }
}
