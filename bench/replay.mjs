// Server time to replay missed events to one reconnecting client: from the request reaching
// the route (onRequest) to every replayed frame handed to the socket (subscribe() resolves),
// over real loopback connections. Usage: node bench/replay.mjs [events=1000] [size=100] [reps=50]
import net from 'node:net'
import Fastify from 'fastify'
import sse from 'fastify-typed-sse'

const [EVENTS = 1000, SIZE = 100, REPS = 50] = process.argv.slice(2).map(Number)
const app = Fastify({ logger: false })
await app.register(sse)
const stream = app.sse.stream('bench', { replay: { maxEvents: EVENTS, maxReplay: EVENTS, maxBytes: 64 * 1024 * 1024 } })
const timings = []
app.addHook('onRequest', async (request) => { request.t0 = performance.now() })
app.get('/s', async (request, reply) => {
  await reply.sse.subscribe(stream)
  timings.push(performance.now() - request.t0)
})
await app.listen({ port: 0, host: '127.0.0.1' })
const { port } = app.server.address()

const pad = 'x'.repeat(Math.max(0, SIZE - 20))
let first
for (let i = 0; i < EVENTS; i++) {
  const e = await stream.publish({ event: 'tick', data: { i, pad } })
  first ??= e
}
const cursor = first.id.replace(/:\d+$/, ':0') // before the first event: all EVENTS are missed

function reconnect () {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET /s HTTP/1.1\r\nHost: x\r\nLast-Event-ID: ${cursor}\r\n\r\n`)
    })
    let frames = 0
    socket.setEncoding('utf8')
    socket.on('data', (text) => {
      frames += text.split('\nevent: tick\n').length - 1 + (text.startsWith('event: tick\n') ? 1 : 0)
      if (frames >= EVENTS) { socket.destroy(); resolve() }
    })
    socket.on('error', reject)
    setTimeout(() => { socket.destroy(); reject(new Error(`only ${frames} frames`)) }, 10_000).unref()
  })
}

for (let i = 0; i < 10; i++) await reconnect() // warm-up
timings.length = 0
for (let i = 0; i < REPS; i++) await reconnect()
timings.sort((a, b) => a - b)
const pct = (p) => timings[Math.min(timings.length - 1, Math.floor(p * timings.length))].toFixed(2)
console.log(`replay of ${EVENTS} events (~${SIZE} B data) to one reconnecting client, server time over ${REPS} reconnects:`)
console.log(`  p50 ${pct(0.5)} ms   p95 ${pct(0.95)} ms   max ${timings[timings.length - 1].toFixed(2)} ms   (replays counted: ${app.sse.metrics().replays})`)
await app.close()
