import type { FastifyInstance } from 'fastify'
import { jobEvents } from './typed-route.js'

// Messages from elsewhere (a queue, another service): the ones that fail their schema are logged and dropped.
export function relay (app: FastifyInstance, messages: AsyncIterable<any>) {
  app.get('/jobs/:id/relay', { sse: { events: jobEvents, onInvalid: 'skip' } }, (request, reply) =>
    reply.sse(messages))
}
