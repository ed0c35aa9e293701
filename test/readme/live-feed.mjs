import Fastify from 'fastify'
import sse from 'fastify-typed-sse'
import { EventEmitter, on } from 'node:events'

export const app = Fastify()
await app.register(sse)
export const prices = new EventEmitter()

// A feed from any event emitter: `on()` ends its loop when the signal aborts, so the listener
// is removed the moment the client leaves.
app.get('/prices', (request, reply) => reply.sse(async function * ({ signal }) {
  for await (const [symbol, price] of on(prices, 'price', { signal })) {
    yield { event: 'price', data: { symbol, price } }
  }
}))

// Push style, for producers that are callbacks rather than loops.
app.get('/clock', (request, reply) => {
  const stream = reply.sse.open()
  const timer = setInterval(() => stream.send({ event: 'tick', data: new Date().toISOString() }), 1000)
  stream.signal.addEventListener('abort', () => clearInterval(timer))
  return stream.done
})
