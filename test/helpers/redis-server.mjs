// A real redis-server per test file, on a free loopback port, started and stopped by the test.
// Admin commands go over a raw RESP socket so they never share state with the clients under test.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { redisStore } from 'fastify-typed-sse/redis'
import { EventStreamDecoder } from 'fastify-typed-sse/testing'
import { until } from './wait.mjs'

export const CLIENTS = ['ioredis', 'node-redis']

export function redisServerAvailable () {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  return probe.status === 0
}

/**
 * Call at the top of a Redis test file. Without redis-server the file fails on CI and is
 * skipped, loudly, elsewhere. Returns false when the caller must stop.
 */
export function requireRedisServer (t) {
  if (redisServerAvailable()) return true
  if (process.env.CI === 'true') {
    t.fail('redis-server is not on PATH: CI must install it (.ci/run does)')
  } else {
    console.warn('\n*** WARNING: redis-server is not on PATH; SKIPPING the Redis store tests ***\n')
    t.pass('skipped: redis-server is not on PATH', { skip: true })
  }
  return false
}

export async function freePort () {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()
  server.close()
  await once(server, 'close')
  return port
}

/**
 * Starts redis-server. `persistence: 'aof'` turns on AOF in a private directory; otherwise
 * nothing is ever written to disk.
 */
export async function startRedis ({ persistence = 'none', args = [] } = {}) {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'fts-redis-'))
  const base = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir,
    '--appendonly', persistence === 'aof' ? 'yes' : 'no', '--protected-mode', 'yes', ...args]
  let child
  let log = ''
  const server = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start () {
      child = spawn('redis-server', base, { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      const ready = new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`redis-server on ${port} not ready after 10 s:\n${out}`)), 10_000)
        child.stdout.on('data', (chunk) => {
          out += chunk
          log += chunk
          if (out.includes('Ready to accept connections')) { clearTimeout(timer); resolve() }
        })
        child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`redis-server exited (${code}):\n${out}`)) })
      })
      await ready
      child.removeAllListeners('exit')
    },
    /** Kills the process (no save) and waits until it is gone. */
    async kill (signal = 'SIGKILL') {
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
      const gone = once(child, 'exit')
      child.kill(signal)
      await gone
    },
    async restart () {
      await server.kill()
      await server.start()
    },
    async stop () {
      await server.kill()
      rmSync(dir, { recursive: true, force: true })
    },
    /** Everything the server logged so far, across restarts. */
    log: () => log,
    /** One command on a fresh connection; resolves with the decoded reply. */
    command: (...args) => command(port, args),
    /** Sum of calls per command from INFO commandstats. */
    async commandStats () {
      const text = await command(port, ['INFO', 'commandstats'])
      const stats = {}
      for (const m of String(text).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) stats[m[1]] = Number(m[2])
      return stats
    }
  }
  await server.start()
  return server
}

/** Commands issued between two commandstats snapshots, minus the INFO used to take them. */
export function statsDelta (before, after) {
  const delta = {}
  for (const [name, calls] of Object.entries(after)) {
    const d = calls - (before[name] ?? 0) - (name === 'info' ? 1 : 0)
    if (d > 0) delta[name] = d
  }
  return delta
}

export async function command (port, args) {
  const socket = net.connect(port, '127.0.0.1')
  socket.setTimeout(5000, () => socket.destroy(new Error(`redis command ${args[0]} timed out`)))
  await once(socket, 'connect')
  socket.write(args.reduce((s, a) => s + `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`, `*${args.length}\r\n`))
  let buffer = Buffer.alloc(0)
  try {
    for await (const chunk of socket) {
      buffer = Buffer.concat([buffer, chunk])
      const parsed = parse(buffer, 0)
      if (parsed !== undefined) {
        if (parsed.value instanceof Error) throw parsed.value
        return parsed.value
      }
    }
    throw new Error('connection closed before the reply')
  } finally {
    socket.destroy()
  }
}

function parse (buf, at) {
  const end = buf.indexOf('\r\n', at)
  if (end < 0) return undefined
  const type = String.fromCharCode(buf[at])
  const line = buf.toString('utf8', at + 1, end)
  if (type === '+') return { value: line, next: end + 2 }
  if (type === '-') return { value: new Error(line), next: end + 2 }
  if (type === ':') return { value: Number(line), next: end + 2 }
  if (type === '$') {
    const n = Number(line)
    if (n < 0) return { value: null, next: end + 2 }
    if (buf.length < end + 2 + n + 2) return undefined
    return { value: buf.toString('utf8', end + 2, end + 2 + n), next: end + 2 + n + 2 }
  }
  if (type === '*') {
    const n = Number(line)
    if (n < 0) return { value: null, next: end + 2 }
    const items = []
    let next = end + 2
    for (let i = 0; i < n; i++) {
      const item = parse(buf, next)
      if (item === undefined) return undefined
      items.push(item.value)
      next = item.next
    }
    return { value: items, next }
  }
  throw new Error('unexpected RESP type ' + type)
}

/** A client of the given kind, connected; `close()` ends it whatever its state. */
export async function connectClient (kind, port, extra = {}) {
  if (kind === 'ioredis') {
    const { Redis } = await import('ioredis')
    const client = new Redis({ port, host: '127.0.0.1', retryStrategy: (n) => Math.min(n * 50, 300), ...extra })
    client.on('error', () => {})
    if (client.status !== 'ready') await once(client, 'ready')
    return { kind, client, close: async () => { client.disconnect() } }
  }
  const { createClient } = await import('redis')
  const client = createClient({ socket: { port, host: '127.0.0.1', reconnectStrategy: (n) => Math.min(n * 50, 300) }, ...extra })
  client.on('error', () => {})
  await client.connect()
  return { kind, client, close: async () => { try { client.destroy() } catch {} } }
}

let prefixes = 0

/**
 * A Redis store on its own client of the given kind and its own key prefix (unless one is
 * given), both closed when `t` ends.
 */
export async function storeOn (t, kind, port, options = {}) {
  const conn = await connectClient(kind, port)
  const prefix = options.prefix ?? `t${process.pid}s${++prefixes}:`
  const store = redisStore({ client: conn.client, ...options, prefix })
  t.teardown(async () => { await store.close(); await conn.close() })
  return { store, conn, prefix }
}

/**
 * The universal invariant for one subscriber's items or one client's events: ids strictly
 * increase within an epoch and never repeat; between two events either every offset is there
 * or a reset sits between them. Returns the problems found (empty when it holds).
 */
export function invariantProblems (items) {
  const problems = []
  const seen = new Set()
  let last
  for (const item of items) {
    if (item.type === 'reset') { last = undefined; continue }
    const { id, offset } = item.event
    const epoch = id.slice(0, id.lastIndexOf(':'))
    if (seen.has(id)) problems.push(`${id} repeated`)
    seen.add(id)
    if (last !== undefined) {
      if (epoch !== last.epoch) problems.push(`epoch changed ${last.epoch} -> ${epoch} without a reset`)
      else if (offset !== last.offset + 1) problems.push(`hole or disorder: ${last.offset} -> ${offset}`)
    }
    last = { epoch, offset }
  }
  return problems
}

/** Collects a live subscription's items in the background. */
export function collect (subscription) {
  const items = []
  const done = (async () => { for await (const item of subscription) items.push(item) })()
  return { items, done, events: () => items.filter((i) => i.type === 'event').map((i) => i.event), resets: () => items.filter((i) => i.type === 'reset') }
}

// The examples of docs/redis.md, one per Redis client.
const EXAMPLES = { ioredis: 'redis-ioredis.mjs', 'node-redis': 'redis-node-redis.mjs' }
const example = (kind) => fileURLToPath(new URL(`../readme/${EXAMPLES[kind]}`, import.meta.url))

/**
 * Starts one example instance of docs/redis.md in its own process; resolves once it listens. `file`
 * names another example under test/readme, `env` adds to its environment.
 */
export async function startInstance (t, kind, redisUrl, { file, env = {} } = {}) {
  const path = file === undefined ? example(kind) : fileURLToPath(new URL(`../readme/${file}`, import.meta.url))
  const child = spawn(process.execPath, [path], {
    env: { ...process.env, REDIS_URL: redisUrl, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout.on('data', (chunk) => { out += chunk })
  child.stderr.on('data', (chunk) => { out += chunk })
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const gone = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
    await gone
    clearTimeout(timer)
  })
  // A hang guard: a process that loads Fastify and a Redis client can take seconds to start on a loaded machine.
  await until(() => /listening on (http:\/\/\S+)/.test(out) || child.exitCode !== null, `instance ${kind} did not start:\n${out}`, 30_000)
  const match = /listening on (http:\/\/\S+)/.exec(out)
  if (match === null) throw new Error(`instance ${kind} exited:\n${out}`)
  return { base: match[1], output: () => out, child }
}

/** An EventSource-like reader of `url`: records events (as the browser would dispatch them) and sends Last-Event-ID. */
export function openEventStream (url, lastEventId) {
  const received = []
  // When each event arrived, beside it.
  const times = []
  const decoder = new EventStreamDecoder({ onEvent: (event) => { received.push(event); times.push(Date.now()) } })
  const headers = lastEventId ? { 'last-event-id': lastEventId } : {}
  const client = { received, times, decoder, status: undefined, ended: false, close: () => request.destroy() }
  const request = http.get(url, { headers, agent: false }, (response) => {
    client.status = response.statusCode
    response.on('data', (chunk) => decoder.push(chunk))
    response.on('end', () => { client.ended = true })
    response.on('error', () => {})
  })
  request.on('error', () => {})
  request.on('close', () => { client.ended = true })
  return client
}

/** Decoded events in the shape of the invariant helper: events with ids, reset notices as resets. */
export function asItems (events) {
  return events.map((e) => e.type === 'reset'
    ? { type: 'reset' }
    : { type: 'event', event: { id: e.lastEventId, offset: Number(e.lastEventId.split(':')[1]) } })
}
