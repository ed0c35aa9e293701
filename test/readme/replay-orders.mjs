import Fastify from 'fastify'
import sse from 'fastify-typed-sse'
import { Type } from '@sinclair/typebox'

const Order = Type.Object({ id: Type.Integer(), total: Type.Number() })

export const app = Fastify()
await app.register(sse)

// Declared once: the events (typed, validated, serialized once per publish) and the replay buffer.
const orders = app.sse.stream('orders', {
  events: { order: Order },
  replay: { maxEvents: 1000, maxAgeMs: 5 * 60_000 }
})

app.get('/orders/stream', (request, reply) => reply.sse.subscribe(orders))

app.post('/orders', async (request) => {
  const stored = await orders.publish({ event: 'order', data: request.body })
  return { id: stored.id }
})
