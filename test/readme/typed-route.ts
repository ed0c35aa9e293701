import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import sse from 'fastify-typed-sse'

export const jobEvents = {
  progress: Type.Object({ step: Type.String(), percent: Type.Integer({ minimum: 0, maximum: 100 }) }),
  done: Type.Object({ ok: Type.Boolean() })
}

export async function buildApp () {
  const app = Fastify()
  await app.register(sse)
  app.get('/jobs/:id/progress', { sse: { events: jobEvents } }, (request, reply) =>
    reply.sse(async function * () {
      yield { event: 'progress', data: { step: 'Validating', percent: 33 } }
      yield { event: 'progress', data: { step: 'Copying', percent: 66 } }
      yield { event: 'done', data: { ok: true } }
      // yield { event: 'done', data: { ok: 'yes' } }   <- compile error: string is not boolean
    }))
  return app
}
