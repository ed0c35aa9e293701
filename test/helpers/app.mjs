import Fastify from 'fastify'
import { createHook } from 'node:async_hooks'
import net from 'node:net'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import sse from 'fastify-typed-sse'

/** A Fastify app with the plugin registered and its log lines collected in `logs`. */
export async function build (t, pluginOptions = {}, fastifyOptions = {}) {
  const logs = []
  const stream = new Writable({
    write (chunk, encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line))
      callback()
    }
  })
  const app = Fastify({ logger: { level: 'debug', stream }, ...fastifyOptions })
  await app.register(sse, pluginOptions)
  app.logs = logs
  t.teardown(() => app.close())
  return app
}

export async function listen (app) {
  await app.listen({ port: 0, host: '127.0.0.1' })
  return app.server.address().port
}

/**
 * A raw HTTP/1.1 client on a net.Socket: full control over reading (pause to stop reading,
 * destroy to vanish) and over the exact request bytes. `closed` settles when the server ends
 * the response (the request asks for `Connection: close`).
 */
export function rawGet (port, path, headers = {}) {
  const socket = net.connect(port, '127.0.0.1')
  // One request per connection: `closed` then means the response ended, not a keep-alive timeout.
  headers = { connection: 'close', ...headers }
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
  // latin1: header values given here are byte strings, exactly what goes on the wire.
  socket.write(Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines}\r\n`, 'latin1'))
  const client = { socket, text: '', bytes: 0 }
  socket.on('data', (chunk) => {
    client.bytes += chunk.length
    client.text += chunk.toString('latin1')
  })
  socket.on('error', () => {})
  client.closed = new Promise((resolve) => socket.on('close', resolve))
  return client
}

/** Counts producers that started and whose `finally` ran. */
export function producerCounter () {
  const counter = { started: 0, finished: 0 }
  Object.defineProperty(counter, 'running', { get: () => counter.started - counter.finished })
  return counter
}

/** The body of a raw HTTP/1.1 response with chunked encoding, de-chunked (latin1 in, UTF-8 out). */
export function bodyOf (raw) {
  const start = raw.indexOf('\r\n\r\n')
  let rest = Buffer.from(raw.slice(start + 4), 'latin1')
  const parts = []
  for (;;) {
    const eol = rest.indexOf('\r\n')
    if (eol === -1) break
    const size = parseInt(rest.subarray(0, eol).toString(), 16)
    if (!(size > 0)) break
    parts.push(rest.subarray(eol + 2, eol + 2 + size))
    rest = rest.subarray(eol + 2 + size + 2)
  }
  return Buffer.concat(parts).toString('utf8')
}

/**
 * Counts live intervals (created and not yet cleared) with async_hooks: unlike
 * process.getActiveResourcesInfo(), it also sees unref'ed ones such as the plugin's. One-shot
 * timers (socket timeouts, test sleeps) are left out: they end by themselves. With `periodMs`,
 * only intervals of that period count.
 */
export function timerTracker (periodMs) {
  const live = new Set()
  const hook = createHook({
    init (id, type, trigger, resource) {
      if (type === 'Timeout' && resource._repeat && (periodMs === undefined || resource._repeat === periodMs)) live.add(id)
    },
    destroy (id) { live.delete(id) }
  }).enable()
  return { get count () { return live.size }, stop: () => hook.disable() }
}

/**
 * A producer that counts up every `ms` until cancelled, recording in `seen` whether its
 * finally ran and whether the signal was aborted by then.
 */
export function countingProducer (seen, ms = 10) {
  return async function * ({ signal }) {
    try {
      for (let i = 0; ; i++) {
        yield { data: i }
        await sleep(ms, undefined, { signal })
      }
    } finally {
      seen.aborted = signal.aborted
      seen.finally = true
    }
  }
}

/**
 * One route per way a stream starts, each sending `data` once: `/source` (reply.sse with a
 * source), `/open` (a pushed stream) and `/sub` (a subscription to the `feed` stream, which
 * sends nothing until something is published). Returns their paths.
 */
export function startPathRoutes (app, data = 'hi') {
  app.get('/source', (request, reply) => reply.sse([{ data }]))
  app.get('/open', (request, reply) => {
    const stream = reply.sse.open()
    stream.send({ data })
    stream.close()
    return stream.done
  })
  app.get('/sub', (request, reply) => reply.sse.subscribe('feed'))
  return ['/source', '/open', '/sub']
}

/** A route that opens a push stream and hands it to the test through `holder.stream`. */
export function pushRoute (app, holder) {
  app.get('/', (request, reply) => {
    holder.stream = reply.sse.open()
    return holder.stream.done
  })
}
