// fastify-typed-sse: reply.sse(asyncIterable) for /stream; /subscribe + /broadcast go through a
// declared replay stream (memory store): publish() stores each event once and the hub writes
// the same frame to every subscriber. Ids are the store's `<epoch>:<offset>`; the broadcast
// number travels in the payload (`b`), which is what the harness reads.
// Follows the SSE benchmark contract (GET /stream, GET /subscribe, POST /broadcast, GET /mem, GET /stats).
// The side-by-side harness passes its helper module (ports, ticks, payloads, stats) through SSE_BENCH_COMMON.
import Fastify from 'fastify'
import sse from 'fastify-typed-sse'

const { HOST, PORT, intParam, ticks, broadcastPayload, memUsage, stats, listening } =
  await import(process.env.SSE_BENCH_COMMON)

const app = Fastify({ logger: false })
await app.register(sse, { heartbeatMs: 15_000 })
const ticker = app.sse.stream('ticks', { replay: { maxEvents: 1000, maxAgeMs: 300_000 } })

app.get('/stream', (request, reply) => {
  const n = intParam(request.query.n, 1000)
  const size = intParam(request.query.size, 100)
  return reply.sse(ticks(n, size, (o) => ({ event: 'tick', id: o.i, data: o })))
})

app.get('/subscribe', (request, reply) => reply.sse.subscribe(ticker))

app.post('/broadcast', async (request) => {
  const k = intParam(request.query.k, 0)
  await ticker.publish({ event: 'tick', data: broadcastPayload(k, intParam(request.query.size, 100)) })
  return { sent: app.sse.metrics().subscribers }
})

app.get('/mem', async () => memUsage())
app.get('/stats', async () => stats({ subscribers: app.sse.metrics().subscribers }))

await app.listen({ port: PORT, host: HOST })
listening('fastify-typed-sse')
