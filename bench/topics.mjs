// Many topics over one connection against one stream per connection: 5,000 connections that
// each carry 5 topics (reply.sse.subscribeTopics) against 5,000 connections on one stream each
// (reply.sse.subscribe). For each: server heap per idle connection, server CPU per delivered
// event, and the time from a publish to the last connection having it (p50 and p99 over the
// broadcasts). Each run gets a fresh server process (loopback only); this process is the load
// client. Runs alternate between the two kinds, so a busy machine slows both alike.
// Usage: node bench/topics.mjs [connections=5000] [broadcasts=200] [runs=2]
import { fork } from 'node:child_process'
import net from 'node:net'
import { fileURLToPath } from 'node:url'

const TOPICS = ['t1', 't2', 't3', 't4', 't5']

if (process.argv[2] === '--server') {
  const { default: Fastify } = await import('fastify')
  const { default: sse } = await import('fastify-typed-sse')
  const app = Fastify({ logger: false })
  await app.register(sse)
  const streams = Object.fromEntries(TOPICS.map((name) => [name, app.sse.stream(name, { replay: { maxEvents: 1000 } })]))
  app.get('/single', (request, reply) => reply.sse.subscribe(streams.t1))
  app.get('/five', (request, reply) => reply.sse.subscribeTopics(streams))
  app.post('/broadcast/:topic', async (request) => {
    const t = performance.timeOrigin + performance.now()
    await streams[request.params.topic].publish({ event: 'tick', data: { t, pad: 'x'.repeat(60) } })
    return { ok: true }
  })
  app.get('/mem', async () => { globalThis.gc(); globalThis.gc(); return process.memoryUsage() })
  app.get('/cpu', async () => process.cpuUsage())
  app.get('/stats', async () => app.sse.metrics())
  await app.listen({ port: 0, host: '127.0.0.1' })
  process.send(app.server.address().port)
} else {
  const N = Number(process.argv[2] ?? 5000)
  const B = Number(process.argv[3] ?? 200)
  const RUNS = Number(process.argv[4] ?? 2)
  const results = { single: [], five: [] }
  for (let run = 0; run < RUNS; run++) {
    for (const kind of ['single', 'five']) results[kind].push(await measure(kind))
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
  const row = (kind, label) => {
    const r = results[kind]
    const heap = median(r.map((x) => x.heapPerConnection))
    const cpu = median(r.map((x) => x.cpuPerEventUs))
    const p50 = median(r.map((x) => x.p50))
    const p99 = median(r.map((x) => x.p99))
    console.log(`| ${label} | ${Math.round(heap)} B | ${cpu.toFixed(2)} µs | ${p50.toFixed(1)} ms | ${p99.toFixed(1)} ms |`)
    return { heap, cpu, p50, p99 }
  }
  console.log(`\n${N} connections, ${B} broadcasts per run, median of ${RUNS} runs each (Node ${process.version})\n`)
  console.log('| connections carry | heap per idle connection | server CPU per delivered event | publish to last connection, p50 | p99 |')
  console.log('| --- | --- | --- | --- | --- |')
  const single = row('single', 'one stream each')
  const five = row('five', '5 topics each')
  console.log(`\nratios (5 topics / one stream): heap ${(five.heap / single.heap).toFixed(2)}x (5 separate streams: 5x), CPU per event ${(five.cpu / single.cpu).toFixed(2)}x, p50 ${(five.p50 / single.p50).toFixed(2)}x, p99 ${(five.p99 / single.p99).toFixed(2)}x`)
  for (const kind of ['single', 'five']) console.log(`${kind} runs: ${JSON.stringify(results[kind].map((r) => ({ heap: Math.round(r.heapPerConnection), cpu: +r.cpuPerEventUs.toFixed(2), p50: +r.p50.toFixed(1), p99: +r.p99.toFixed(1) })))}`)
}

async function measure (kind) {
  const child = fork(fileURLToPath(import.meta.url), ['--server'], { execArgv: ['--expose-gc'] })
  const port = await new Promise((resolve) => child.once('message', resolve))
  const N = Number(process.argv[2] ?? 5000)
  const B = Number(process.argv[3] ?? 200)
  const deadline = (ms, what) => setTimeout(() => { console.error(`timed out: ${what}`); child.kill(); process.exit(1) }, ms)
  const request = (method, path) => new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(`${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`))
    let body = ''
    s.setEncoding('utf8')
    s.on('data', (d) => { body += d })
    s.on('end', () => resolve(JSON.parse(body.slice(body.indexOf('\r\n\r\n') + 4).replace(/^[0-9a-f]+\r\n/, '').replace(/\r\n0\r\n\r\n$/, ''))))
    s.on('error', reject)
  })
  let received = 0
  let last = 0
  let everyone = null // resolves once every connection has the broadcast
  const onData = (text) => {
    let i = text.indexOf('"t":')
    if (i === -1) return
    while (i !== -1) {
      received++
      i = text.indexOf('"t":', i + 4)
    }
    last = performance.timeOrigin + performance.now()
    if (received >= N && everyone !== null) everyone()
  }
  const before = await request('GET', '/mem')
  let timer = deadline(300_000, `${kind}: connect`)
  const sockets = []
  let open = 0
  await new Promise((resolve) => {
    const next = () => {
      if (sockets.length >= N) return
      const s = net.connect(port, '127.0.0.1', () => s.write(`GET /${kind} HTTP/1.1\r\nHost: x\r\n\r\n`))
      sockets.push(s)
      s.setEncoding('utf8')
      s.once('data', () => { if (++open === N) resolve(); next() })
      s.on('data', onData)
      s.on('error', () => {})
    }
    for (let i = 0; i < 200; i++) next()
  })
  clearTimeout(timer)
  const stats = await request('GET', '/stats')
  const live = kind === 'five' ? N * TOPICS.length : N
  while ((await request('GET', '/stats')).subscribers < live) await new Promise((resolve) => setTimeout(resolve, 50))
  await new Promise((resolve) => setTimeout(resolve, 300))
  const after = await request('GET', '/mem')
  timer = deadline(600_000, `${kind}: broadcasts`)
  const latencies = []
  const cpuBefore = await request('GET', '/cpu')
  for (let k = 0; k < B; k++) {
    // One topic at a time, every topic in turn: each broadcast is one event to each connection.
    const topic = kind === 'five' ? TOPICS[k % TOPICS.length] : 't1'
    received = 0
    const all = new Promise((resolve) => { everyone = resolve })
    const sentAt = performance.timeOrigin + performance.now()
    await request('POST', `/broadcast/${topic}`)
    await all
    everyone = null
    latencies.push(last - sentAt)
  }
  const cpuAfter = await request('GET', '/cpu')
  clearTimeout(timer)
  latencies.sort((a, b) => a - b)
  for (const s of sockets) s.destroy()
  child.kill()
  const cpuUs = (cpuAfter.user - cpuBefore.user) + (cpuAfter.system - cpuBefore.system)
  return {
    kind,
    subscribers: stats.subscribers,
    heapPerConnection: (after.heapUsed - before.heapUsed) / N,
    // Includes the B publish requests themselves, the same in both kinds.
    cpuPerEventUs: cpuUs / (B * N),
    p50: latencies[Math.floor(B * 0.5)],
    p99: latencies[Math.min(B - 1, Math.floor(B * 0.99))]
  }
}
