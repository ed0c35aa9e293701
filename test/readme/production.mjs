import Fastify from 'fastify'
import sse from 'fastify-typed-sse'

export const app = Fastify()
await app.register(sse, {
  // Each stream ends after 48 to 60 minutes; EventSource reconnects and resumes by id.
  maxConnectionMs: 60 * 60_000,
  maxStreams: 20_000,
  // Per signed-in user, derived on the server: at most five tabs stream at once.
  maxStreamsPerKey: 5,
  streamKey: (request) => request.session.userId
})

export const sessions = new Map() // session id → { userId, expiresAt }
app.decorateRequest('session', null)
app.addHook('onRequest', async (request, reply) => {
  // From a cookie, which EventSource sends, never from the query string: URLs are logged.
  const id = /(?:^|;\s*)session=([^;]*)/.exec(request.headers.cookie ?? '')?.[1]
  const session = id === undefined ? undefined : sessions.get(id)
  if (session === undefined || session.expiresAt <= Date.now()) return reply.code(401).send({ error: 'sign in' })
  request.session = session
})

export const orders = app.sse.stream('orders')

// One URL for both: EventSource gets the stream, fetch() gets a JSON snapshot.
app.get('/orders', { sse: { alternative: 'application/json' } }, async (request, reply) => {
  if (!reply.sse.accepted) return { head: await orders.head() }
  // The stream must not outlive the credentials it was opened with.
  reply.sse.expireAt(request.session.expiresAt)
  return reply.sse.subscribe(orders)
})
