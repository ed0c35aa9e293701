import Fastify from 'fastify'
import sse from 'fastify-typed-sse'
import { setTimeout } from 'node:timers/promises'

// The app without listen(): the entry file that starts the server listens, and tests inject.
export const app = Fastify()
await app.register(sse)

app.get('/jobs/:id/progress', (request, reply) => reply.sse(async function * ({ signal }) {
  for (const [i, step] of ['Validating', 'Processing', 'Confirming'].entries()) {
    yield { event: 'progress', id: String(i + 1), data: { step, percent: Math.round(((i + 1) / 3) * 100) } }
    await setTimeout(100, undefined, { signal }) // rejects the moment the client leaves
  }
  yield { event: 'done', data: { ok: true } }
}))
