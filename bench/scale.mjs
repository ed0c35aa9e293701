// 10,000 subscribers on one process: connect time, heap per idle subscriber, and the time
// from publish() to the last subscriber having the event. The server runs in a child process
// (loopback only); this process is the load client. Every phase has a time limit.
// Usage: node bench/scale.mjs [subscribers=10000] [broadcasts=5]
import { fork } from 'node:child_process'
import net from 'node:net'
import { fileURLToPath } from 'node:url'

if (process.argv[2] === '--server') {
  const { default: Fastify } = await import('fastify')
  const { default: sse } = await import('fastify-typed-sse')
  const app = Fastify({ logger: false })
  await app.register(sse)
  const stream = app.sse.stream('scale', { replay: { maxEvents: 1000 } })
  app.get('/subscribe', (request, reply) => reply.sse.subscribe(stream))
  app.post('/broadcast', async () => {
    const t = performance.timeOrigin + performance.now()
    await stream.publish({ event: 'tick', data: { t, pad: 'x'.repeat(60) } })
    return { sent: app.sse.metrics().subscribers }
  })
  app.get('/mem', async () => { globalThis.gc(); globalThis.gc(); return process.memoryUsage() })
  app.get('/stats', async () => app.sse.metrics())
  await app.listen({ port: 0, host: '127.0.0.1' })
  process.send(app.server.address().port)
} else {
  const N = Number(process.argv[2] ?? 10_000)
  const B = Number(process.argv[3] ?? 5)
  const child = fork(fileURLToPath(import.meta.url), ['--server'], { execArgv: ['--expose-gc'] })
  const port = await new Promise((resolve) => child.once('message', resolve))
  const deadline = (ms, what) => setTimeout(() => { console.error(`timed out: ${what}`); child.kill(); process.exit(1) }, ms)
  const get = (method, path) => new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(`${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`))
    let body = ''
    s.setEncoding('utf8')
    s.on('data', (d) => { body += d })
    s.on('end', () => resolve(JSON.parse(body.slice(body.indexOf('\r\n\r\n') + 4).replace(/^[0-9a-f]+\r\n/, '').replace(/\r\n0\r\n\r\n$/, ''))))
    s.on('error', reject)
  })
  const received = new Array(B).fill(0)
  const last = new Array(B).fill(0)
  let current = -1
  const onData = (text) => {
    const i = text.indexOf('"t":')
    if (i === -1 || current < 0) return
    received[current]++
    last[current] = performance.timeOrigin + performance.now()
  }
  const before = await get('GET', '/mem')
  let timer = deadline(120_000, 'connect')
  const t0 = performance.now()
  const sockets = []
  let open = 0
  await new Promise((resolve) => {
    const next = () => {
      if (sockets.length >= N) return
      const s = net.connect(port, '127.0.0.1', () => s.write('GET /subscribe HTTP/1.1\r\nHost: x\r\n\r\n'))
      sockets.push(s)
      s.setEncoding('utf8')
      s.once('data', () => { if (++open === N) resolve(); next() })
      s.on('data', onData)
      s.on('error', () => {})
    }
    for (let i = 0; i < 200; i++) next()
  })
  const connectMs = performance.now() - t0
  clearTimeout(timer)
  await new Promise((resolve) => setTimeout(resolve, 500))
  const after = await get('GET', '/mem')
  const stats = await get('GET', '/stats')
  const latencies = []
  timer = deadline(60_000, 'broadcasts')
  for (let k = 0; k < B; k++) {
    current = k
    const sentAt = performance.timeOrigin + performance.now()
    await get('POST', '/broadcast')
    while (received[k] < N) await new Promise((resolve) => setTimeout(resolve, 5))
    latencies.push(last[k] - sentAt)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  clearTimeout(timer)
  latencies.sort((a, b) => a - b)
  console.log(`${N} subscribers on one process (server heap after gc):`)
  console.log(`  connect all: ${Math.round(connectMs)} ms (≤200 connecting at once); server reports ${stats.subscribers} subscribers on ${stats.channels} store subscription(s)`)
  console.log(`  heap per idle subscriber: ${Math.round((after.heapUsed - before.heapUsed) / N)} B; RSS per subscriber: ${Math.round((after.rss - before.rss) / N)} B; total heap ${(after.heapUsed / 1048576).toFixed(1)} MiB`)
  console.log(`  one broadcast, request to last subscriber: p50 ${latencies[Math.floor(B / 2)].toFixed(1)} ms, max ${latencies[B - 1].toFixed(1)} ms over ${B} broadcasts (all ${N} received each)`)
  for (const s of sockets) s.destroy()
  child.kill()
}
