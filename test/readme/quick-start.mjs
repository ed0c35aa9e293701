import Fastify from 'fastify'
import sse from 'fastify-typed-sse'
import { setTimeout } from 'node:timers/promises'

const app = Fastify()
await app.register(sse, { retryMs: 3000 })

app.get('/jobs/:id/progress', (request, reply) => {
  return reply.sse(async function * ({ signal }) {
    const steps = ['Validating', 'Processing', 'Confirming']
    for (const [i, step] of steps.entries()) {
      await setTimeout(1000, undefined, { signal }) // rejects the moment the client leaves
      yield { event: 'progress', id: String(i + 1), data: { step, percent: Math.round(((i + 1) / steps.length) * 100) } }
    }
    yield { event: 'done', data: { ok: true } }
  })
})

const address = await app.listen({ port: Number(process.env.PORT ?? 3000) })
console.log(`listening on ${address}`)
