// Publishes per second through the memory store with idle subscribers: each publish() is
// validated against its schema, serialized once by compiled code, stored for replay, framed
// once and written to every subscriber's socket. The reference is a raw loop that writes one
// preformatted frame to the same sockets (`res.write` per socket, as a plain node:http server
// broadcasts). The two alternate on the same connections; the figure is server CPU per publish
// from publish() until every subscriber has received it (the load client runs in a child
// process on loopback and counts frames). Each publish gets its own event-loop turn, as
// events arriving one at a time do.
// Usage: node bench/publish.mjs [subscribers=1000] [publishes=100] [rounds=3] [size=100]
import { fork } from 'node:child_process'
import net from 'node:net'
import { fileURLToPath } from 'node:url'

const isClient = process.argv[2] === '--client'
const [SUBS = 1000, PUBLISHES = 100, ROUNDS = 3, SIZE = 100] = isClient ? [] : process.argv.slice(2).map(Number)

if (isClient) {
  // Load client: SUBS connections that read everything and count complete frames.
  const port = Number(process.argv[3])
  const n = Number(process.argv[4])
  let frames = 0
  let connected = 0
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, '127.0.0.1', () => s.write('GET /subscribe HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n'))
    let tail = ''
    let seen = false
    s.setEncoding('latin1')
    s.on('data', (d) => {
      if (!seen) {
        seen = true
        if (++connected === n) process.send({ connected })
      }
      const text = tail + d
      let at = text.indexOf('\ndata: {')
      while (at !== -1) {
        frames++
        at = text.indexOf('\ndata: {', at + 8)
      }
      tail = text.slice(-7)
    })
    s.on('error', (err) => { console.error(err.message); process.exit(1) })
  }
  process.on('message', () => process.send({ frames }))
} else {
  const { default: Fastify } = await import('fastify')
  const { Type } = await import('@sinclair/typebox')
  const { default: sse } = await import('fastify-typed-sse')

  const Tick = Type.Object({ k: Type.Integer(), pad: Type.String() })
  const app = Fastify({ logger: false })
  await app.register(sse, { heartbeatMs: 0 })
  const stream = app.sse.stream('ticks', { events: { tick: Tick }, replay: { maxEvents: 1000 } })
  const sockets = []
  app.get('/subscribe', (request, reply) => {
    sockets.push(reply.raw)
    return reply.sse.subscribe(stream)
  })
  await app.listen({ port: 0, host: '127.0.0.1' })

  const client = fork(fileURLToPath(import.meta.url), ['--client', String(app.server.address().port), String(SUBS)])
  const ask = () => new Promise((resolve) => { client.once('message', resolve); client.send('count') })
  const guard = setTimeout(() => { console.error('timed out'); client.kill(); process.exit(1) }, 600_000)
  await new Promise((resolve) => client.once('message', resolve))

  const pad = 'x'.repeat(Math.max(0, SIZE - 20))
  const turn = () => new Promise((resolve) => setImmediate(resolve))
  let k = 0
  let expected = 0
  const variants = {
    'publish()': async () => {
      for (let i = 0; i < PUBLISHES; i++) {
        await stream.publish({ event: 'tick', data: { k: ++k, pad } })
        await turn()
      }
    },
    'raw loop': async () => {
      for (let i = 0; i < PUBLISHES; i++) {
        const frame = 'event: tick\nid: ' + (++k) + '\ndata: ' + JSON.stringify({ k, pad }) + '\n\n'
        for (const res of sockets) res.write(frame)
        await turn()
      }
    }
  }
  const results = { 'publish()': [], 'raw loop': [] }
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [name, run] of Object.entries(variants)) {
      const cpu = process.cpuUsage()
      const t0 = performance.now()
      await run()
      expected += PUBLISHES * SUBS
      // Done when every subscriber has every frame, so the socket writes are counted too.
      while ((await ask()).frames < expected) await new Promise((resolve) => setTimeout(resolve, 5))
      const wallMs = performance.now() - t0
      const used = process.cpuUsage(cpu)
      // Round 0 warms both paths up and is not counted.
      if (round > 0) results[name].push({ cpuUs: (used.user + used.system) / PUBLISHES, perSec: PUBLISHES / (wallMs / 1000) })
    }
  }
  clearTimeout(guard)
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const raw = median(results['raw loop'].map((r) => r.cpuUs))
  console.log(`${SUBS} subscribers, ${PUBLISHES} publishes × ${ROUNDS} rounds, ${SIZE}-byte events, medians:`)
  for (const [name, rs] of Object.entries(results)) {
    const cpu = median(rs.map((r) => r.cpuUs))
    console.log(`${name.padEnd(10)} server CPU ${cpu.toFixed(0).padStart(6)} µs/publish (${(cpu / raw).toFixed(2)}× raw loop), ` +
      `${median(rs.map((r) => 1e6 / r.cpuUs)).toFixed(0)} publishes per CPU-second, ${median(rs.map((r) => r.perSec)).toFixed(0)} publishes/s wall`)
  }
  client.kill()
  await app.close()
}
