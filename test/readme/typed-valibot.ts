import Fastify from 'fastify'
import * as v from 'valibot'
import sse from 'fastify-typed-sse'

export const jobEvents = {
  progress: v.object({ step: v.string(), percent: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(100)) }),
  done: v.object({ ok: v.boolean() })
}

export async function buildApp () {
  const app = Fastify()
  await app.register(sse)
  app.get('/jobs/:id/progress', { sse: { events: jobEvents } }, (request, reply) => reply.sse([
    { event: 'progress', data: { step: 'job 1', percent: 33 } },
    { event: 'done', data: { ok: true } }
  ]))
  return app
}
