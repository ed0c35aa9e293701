import Fastify from 'fastify'
import { type } from 'arktype'
import sse from 'fastify-typed-sse'

export const jobEvents = {
  progress: type({ step: 'string', percent: '0 <= number.integer <= 100' }),
  done: type({ ok: 'boolean' })
}

export async function buildApp () {
  const app = Fastify()
  await app.register(sse)
  app.get('/jobs/:id/progress', { sse: { events: jobEvents } }, (request, reply) => {
    const stream = reply.sse.open()
    stream.send({ event: 'progress', data: { step: 'job 1', percent: 33 } })
    stream.send({ event: 'done', data: { ok: true } })
    stream.close()
    return stream.done
  })
  return app
}
