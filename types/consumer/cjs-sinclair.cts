// A consumer of the published types (see esm-typebox.ts), as CommonJS: TypeBox 0.34, no type provider.
import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import sse, { errors, type EventGenerator } from 'fastify-typed-sse'

type IsAny<T> = 0 extends 1 & T ? true : false
export const errorsTyped: IsAny<typeof errors.FST_SSE_INVALID_PAYLOAD> = false

export const events = { progress: Type.Object({ percent: Type.Integer() }), done: Type.Object({ ok: Type.Boolean() }) }

export function build () {
  const app = Fastify()
  app.register(sse)
  app.get('/jobs/:id', { sse: { events } }, (request, reply) =>
    reply.sse(async function * (): EventGenerator<typeof events> {
      yield { event: 'progress', data: { percent: 1 } }
      // @ts-expect-error: data of the wrong type
      yield { event: 'done', data: { ok: 'yes' } }
    }))
  app.get<{ Params: { id: string }, Events: typeof events }>('/explicit/:id', { sse: { events } }, (request, reply) =>
    reply.sse([{ event: 'done', data: { ok: request.params.id === '' } }]))
  return app
}
