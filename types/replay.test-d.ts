import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import { expectError, expectType } from 'tsd'
import sse, { memoryStore, redisStore, type ReplayStore, type SseMetrics, type StoredEvent } from 'fastify-typed-sse'

const app = Fastify()
app.register(sse, { store: memoryStore({ maxEvents: 100 }) })
app.register(sse, { store: redisStore({ client: new Redis() }) })
app.register(sse, { store: redisStore({ client: createClient() }) })
expectError(app.register(sse, { store: 'redis' }))

const Order = Type.Object({ id: Type.Integer(), total: Type.Number() })
const orders = app.sse.stream('orders', { events: { order: Order }, replay: { maxEvents: 1000, maxAgeMs: 60_000 } })

// Publishing is typed by the declared events.
expectType<Promise<StoredEvent>>(orders.publish({ event: 'order', data: { id: 1, total: 2 } }))
expectError(orders.publish({ event: 'order', data: { id: '1', total: 2 } }))
expectError(orders.publish({ event: 'refund', data: { id: 1, total: 2 } }))
expectError(orders.publish({ event: 'order', data: { id: 1 } }))
expectError(orders.publish({ event: 'order', data: { id: 1, total: 2 } }, { key: 'k' }))

// A keyed stream needs the key to publish.
const inbox = app.sse.stream('inbox', { events: { note: Type.String() }, key: (request) => request.ip })
expectType<Promise<StoredEvent>>(inbox.publish({ event: 'note', data: 'hi' }, { key: 'user-1' }))
expectError(inbox.publish({ event: 'note', data: 'hi' }))

app.get('/orders', (request, reply) => {
  expectType<Promise<void>>(reply.sse.subscribe(orders, {
    filter: (event) => {
      expectType<string>(event.id)
      expectType<{ id: number, total: number }>(event.data)
      return event.data.total > 0
    },
    onReset: ({ reason, send }) => {
      expectType<'malformed' | 'epoch' | 'trimmed' | 'ahead' | 'limit' | 'lost'>(reason)
      send({ event: 'order', data: { id: 0, total: 0 } })
      expectError(send({ event: 'order', data: { id: 0 } }))
    }
  }))
  return reply.sse.subscribe('untyped-by-name')
})

expectType<Promise<StoredEvent>>(app.sse.publish('orders', { data: 'anything' }))
expectType<SseMetrics>(app.sse.metrics())
expectType<number>(app.sse.metrics().openStreams)
expectType<ReplayStore>(app.sse.store)

expectType<Promise<string>>(orders.head())
expectType<Promise<string>>(inbox.head({ key: 'user-1' }))
expectError(inbox.head())
