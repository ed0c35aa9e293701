// fastify-typed-sse, typed: /stream declares a schema for `tick`, so each event is validated
// (TypeBox: a compiled checker; Zod, Valibot, ArkType: the schema's own Standard Schema
// `validate`) and serialized by a serializer compiled from its JSON Schema.
// SSE_TYPED_SCHEMA=typebox|zod|valibot|arktype picks the library (server-typed-<library>.mjs
// set it, one variant per library for the harness). SSE_TYPED_VALIDATE=0 / SSE_TYPED_SERIALIZE=0
// turn either off, to measure what each costs.
// Follows the SSE benchmark contract (GET /stream, GET /subscribe, POST /broadcast, GET /mem, GET /stats).
// The side-by-side harness passes its helper module (ports, ticks, payloads, stats) through SSE_BENCH_COMMON.
import Fastify from 'fastify'
import sse from 'fastify-typed-sse'

const { HOST, PORT, intParam, ticks, broadcastPayload, memUsage, stats, listening } =
  await import(process.env.SSE_BENCH_COMMON)

const validate = process.env.SSE_TYPED_VALIDATE !== '0'
const serialize = process.env.SSE_TYPED_SERIALIZE !== '0'
const library = process.env.SSE_TYPED_SCHEMA ?? 'typebox'
const schemas = {
  async typebox () {
    const { Type } = await import('@sinclair/typebox')
    return [Type.Object({ i: Type.Integer(), pad: Type.String() }), Type.Object({ b: Type.Integer(), t: Type.Number(), pad: Type.String() })]
  },
  async zod () {
    const { z } = await import('zod')
    return [z.object({ i: z.number().int(), pad: z.string() }), z.object({ b: z.number().int(), t: z.number(), pad: z.string() })]
  },
  async valibot () {
    const v = await import('valibot')
    return [v.object({ i: v.pipe(v.number(), v.integer()), pad: v.string() }), v.object({ b: v.pipe(v.number(), v.integer()), t: v.number(), pad: v.string() })]
  },
  async arktype () {
    const { type } = await import('arktype')
    return [type({ i: 'number.integer', pad: 'string' }), type({ b: 'number.integer', t: 'number', pad: 'string' })]
  }
}
if (!Object.hasOwn(schemas, library)) throw new Error(`SSE_TYPED_SCHEMA must be one of ${Object.keys(schemas).join(', ')}`)
const [Tick, Broadcast] = await schemas[library]()

const app = Fastify({ logger: false })
await app.register(sse, { heartbeatMs: 15_000 })
const subscribers = new Set()

app.get('/stream', { sse: { events: { tick: Tick }, validate, serialize } }, (request, reply) => {
  const n = intParam(request.query.n, 1000)
  const size = intParam(request.query.size, 100)
  return reply.sse(ticks(n, size, (o) => ({ event: 'tick', id: o.i, data: o })))
})

app.get('/subscribe', { sse: { events: { tick: Broadcast }, validate, serialize } }, (request, reply) => {
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
listening(`fastify-typed-sse (typed, ${library}${validate ? '' : ', validate off'}${serialize ? '' : ', serialize off'})`)
