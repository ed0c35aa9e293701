import Fastify from 'fastify'
import sse from 'fastify-typed-sse'

// Trust X-Forwarded-For from the proxy's own address only: with `trustProxy: true` any client
// could name any address in it, and get a fresh per-key slot with every request.
export const app = Fastify({ trustProxy: '127.0.0.1' })
await app.register(sse, {
  maxStreams: 10_000,
  // The default key is request.ip: behind the proxy, the client's address as the proxy saw it.
  maxStreamsPerKey: 4,
  // Every slow client together: past this, the ones furthest behind are disconnected first.
  maxTotalBufferedBytes: 256 * 1024 * 1024
})

app.get('/events/feed', (request, reply) => reply.sse.subscribe('feed'))
