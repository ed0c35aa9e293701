import Fastify from 'fastify'
import { expectError, expectType } from 'tsd'
import sse, { type EndReason, type SseMetrics } from 'fastify-typed-sse'

const app = Fastify()
app.register(sse, {
  maxConnectionMs: 60_000,
  reconnectMs: 1000,
  maxStreams: 100,
  maxStreamsPerKey: 5,
  streamKey: (request) => request.ip,
  limitRetryMs: 30_000,
  now: () => performance.now()
})
// A misspelt option is a type error as well as a start-up error.
expectError(app.register(sse, { maxConnectionMS: 600 }))

app.get('/dual', { sse: { alternative: 'application/json', maxConnectionMs: false } }, async (request, reply) => {
  expectType<boolean>(reply.sse.accepted)
  reply.sse.expireAt(new Date())
  reply.sse.expireAt(Date.now() + 1000)
  expectError(reply.sse.expireAt('tomorrow'))
  if (!reply.sse.accepted) return { snapshot: true }
  return reply.sse.subscribe('feed')
})

declare const metrics: SseMetrics
expectType<number>(metrics.streamsOpened)
expectType<number>(metrics.streamsEnded.limit)
expectType<number>(metrics.limitKeys)
const reasons: EndReason[] = ['lifetime', 'expired', 'limit']
expectType<EndReason[]>(reasons)
