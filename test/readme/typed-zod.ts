import Fastify from 'fastify'
import { z } from 'zod'
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import sse, { type EventGenerator } from 'fastify-typed-sse'

export const jobEvents = {
  progress: z.object({ step: z.string(), percent: z.number().int().min(0).max(100) }),
  done: z.object({ ok: z.boolean() })
}

export async function buildApp () {
  const app = Fastify().withTypeProvider<ZodTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  await app.register(sse)
  app.get('/jobs/:id/progress', {
    schema: { params: z.object({ id: z.string() }), querystring: z.object({ from: z.coerce.number().int().default(33) }) },
    sse: { events: jobEvents }
  }, (request, reply) => reply.sse(async function * (): EventGenerator<typeof jobEvents> {
    yield { event: 'progress', data: { step: `job ${request.params.id}`, percent: request.query.from } }
    yield { event: 'done', data: { ok: true } }
    // yield { event: 'done', data: { ok: 'yes' } }   <- compile error at this line
  }))
  return app
}
