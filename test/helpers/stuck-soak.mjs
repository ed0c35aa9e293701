// Run with --expose-gc by test/stuck-producer-soak.test.mjs. Connects and disconnects `cycles`
// times to a route whose producer is stuck forever on a promise shared by every request (as
// a real app's would be), then reports what survived a full collection: how many responses
// and requests, and how much heap per cycle, beside the same stuck generator served without
// the plugin.
import http from 'node:http'
import Fastify from 'fastify'
import sse from 'fastify-typed-sse'

const cycles = Number(process.argv[2] ?? 1000)
const app = Fastify()
await app.register(sse)

const stuck = new Promise(() => {})
const alive = { responses: 0, requests: 0 }
const registry = new FinalizationRegistry((kind) => { alive[kind]-- })
let onClosed = null

function track (request, reply) {
  alive.responses++
  alive.requests++
  registry.register(reply.raw, 'responses')
  registry.register(request.raw, 'requests')
  reply.raw.once('close', () => onClosed())
}

// A generator suspended on the shared promise: the producer a real app has when its data
// source stalls and it ignores the signal.
async function * stuckGenerator () {
  yield { data: 'first' }
  await stuck
}

const routes = {
  // The producer function form: the generator holds its context.
  '/function': (request, reply) => reply.sse(async function * ({ signal }) {
    yield { data: 'first' }
    await stuck
    signal.throwIfAborted()
  }),
  // A bare async iterable whose next() never settles after the first item.
  '/iterator': (request, reply) => {
    let n = 0
    return reply.sse({ [Symbol.asyncIterator]: () => ({ next: () => n++ === 0 ? Promise.resolve({ done: false, value: { data: 'first' } }) : stuck }) })
  },
  // The same stuck generator without the plugin: what the producer costs by itself.
  '/baseline': async (request, reply) => {
    const generator = stuckGenerator()
    await generator.next()
    generator.next()
    reply.raw.writeHead(200, { 'content-type': 'text/plain' })
    reply.hijack()
    reply.raw.write('first')
  }
}
for (const [path, handler] of Object.entries(routes)) {
  app.get(path, (request, reply) => {
    track(request, reply)
    return handler(request, reply)
  })
}

await app.listen({ port: 0, host: '127.0.0.1' })
const { port } = app.server.address()
const agent = new http.Agent({ keepAlive: false })

/** One client: connect, read the first bytes, leave, and wait until the server saw it leave. */
function cycle (path) {
  return new Promise((resolve) => {
    onClosed = resolve
    const req = http.get({ port, host: '127.0.0.1', path, agent }, (res) => {
      res.once('data', () => req.destroy())
    })
    req.on('error', () => {})
  })
}

async function collect () {
  // FinalizationRegistry callbacks run on later turns: collect, yield, repeat.
  for (let i = 0; i < 6; i++) {
    globalThis.gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
}

const result = {}
for (const path of Object.keys(routes)) {
  for (let i = 0; i < 100; i++) await cycle(path) // warm-up: code, pools and caches
  await collect()
  const before = process.memoryUsage().heapUsed
  const aliveBefore = { ...alive }
  for (let i = 0; i < cycles; i++) await cycle(path)
  await collect()
  result[path] = {
    bytesPerCycle: Math.round((process.memoryUsage().heapUsed - before) / cycles),
    responses: alive.responses - aliveBefore.responses,
    requests: alive.requests - aliveBefore.requests
  }
  result.openStreams = app.sse.openStreams
}
await app.close()
process.stdout.write(JSON.stringify(result) + '\n')
