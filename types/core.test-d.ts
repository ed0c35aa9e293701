import Fastify from 'fastify'
import { expectAssignable, expectError, expectNotAssignable, expectType } from 'tsd'
import sse, { encodeEvent, errors, fastifyTypedSse, type SseItem, type SseResult, type SseStream } from 'fastify-typed-sse'

const app = Fastify()
app.register(sse, { heartbeatMs: 15_000, retryMs: 3_000 })
app.register(fastifyTypedSse, { heartbeatMs: false, stallTimeoutMs: false })
expectError(app.register(sse, { heartbeatMs: 'often' }))
expectError(app.register(sse, { serializer: 42 }))

app.get('/events', async (request, reply) => {
  expectType<string | undefined>(reply.sse.lastEventId)
  const result = reply.sse(async function * ({ signal, lastEventId }) {
    expectType<AbortSignal>(signal)
    expectType<string | undefined>(lastEventId)
    yield { event: 'tick', id: 1, data: { n: 1 } }
    yield { data: 'text', retry: 1000, comment: 'hi' }
  })
  expectType<Promise<SseResult>>(result)
  return result
})

app.get('/array', (request, reply) => reply.sse([{ data: 1 }, { data: 2 }]))

app.get('/push', (request, reply) => {
  const stream = reply.sse.open()
  expectType<SseStream>(stream)
  expectType<boolean>(stream.send({ event: 'x', data: 1 }))
  expectType<AbortSignal>(stream.signal)
  return stream.done
})

expectType<number>(app.sse.openStreams)
expectType<string>(encodeEvent({ data: 'x' }))
expectAssignable<SseItem>({ id: '1', event: 'e', retry: 0, comment: '', data: null })
expectNotAssignable<SseItem>({ id: true })
expectNotAssignable<SseItem>({ retry: '1000' })

// Each error class is typed with its own code and status, whether called or constructed.
const routeError = new errors.FST_SSE_INVALID_ROUTE_OPTION('GET /x', 'sse must be an object')
expectType<'FST_SSE_INVALID_ROUTE_OPTION'>(routeError.code)
expectType<500>(routeError.statusCode)
expectType<'FST_SSE_STORE_MALFORMED'>(errors.FST_SSE_STORE_MALFORMED('a head', '"x"').code)
expectType<503>(new errors.FST_SSE_STORE_TIMEOUT('append', 5).statusCode)
expectAssignable<Error>(new errors.FST_SSE_INVALID_STORE_ARGUMENT('memoryStore append()', 'x', { cause: new Error('y') }))
