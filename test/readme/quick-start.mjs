import Fastify from 'fastify'
import sse from 'fastify-typed-sse'
import { setTimeout } from 'node:timers/promises'

export const app = Fastify()
await app.register(sse, { heartbeatMs: 15_000, retryMs: 3_000 })

app.get('/jobs/:id/progress', async (request, reply) => {
  return reply.sse(async function * ({ signal, lastEventId }) {
    for (const [i, step] of ['Validating', 'Processing', 'Confirming'].entries()) {
      yield { event: 'progress', id: String(i + 1), data: { step, percent: (i + 1) * 33 } }
      await setTimeout(1500, undefined, { signal }) // rejects the moment the client leaves
    }
    yield { event: 'done', data: { ok: true } }
  })
})
