// fastify-typed-sse: reply.sse(asyncIterable) for /stream; reply.sse.open() handles for /subscribe.
// Follows the SSE benchmark contract (GET /stream, GET /subscribe, POST /broadcast, GET /mem, GET /stats).
// The harness passes its helper module through SSE_BENCH_COMMON; `npm run bench` supplies a copy.
import Fastify from 'fastify'
import sse from 'fastify-typed-sse'

const { HOST, PORT, intParam, ticks, broadcastPayload, memUsage, stats, listening } =
  await import(process.env.SSE_BENCH_COMMON)

const app = Fastify({ logger: false })
await app.register(sse, { heartbeatMs: 15_000 })
const subscribers = new Set()

app.get('/stream', (request, reply) => {
  const n = intParam(request.query.n, 1000)
  const size = intParam(request.query.size, 100)
  return reply.sse(ticks(n, size, (o) => ({ event: 'tick', id: o.i, data: o })))
})

app.get('/subscribe', (request, reply) => {
  const stream = reply.sse.open()
  subscribers.add(stream)
  stream.signal.addEventListener('abort', () => subscribers.delete(stream), { once: true })
  return stream.done
})

app.post('/broadcast', async (request) => {
  const k = intParam(request.query.k, 0)
  const item = { event: 'tick', id: k, data: broadcastPayload(k, intParam(request.query.size, 100)) }
  for (const s of subscribers) s.send(item)
  return { sent: subscribers.size }
})

app.get('/mem', async () => memUsage())
app.get('/stats', async () => stats({ subscribers: subscribers.size }))

await app.listen({ port: PORT, host: HOST })
listening('fastify-typed-sse')
