// A consumer of the published types, compiled by scripts/type-matrix.mjs under each module
// resolution, skipLibCheck setting and TypeScript version: TypeBox 1.x through the type provider.
import Fastify from 'fastify'
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import sse, { errors, type EventGenerator } from 'fastify-typed-sse'
import { createSseClient } from 'fastify-typed-sse/client'

type IsAny<T> = 0 extends 1 & T ? true : false
export const errorsTyped: IsAny<typeof errors.FST_SSE_INVALID_PAYLOAD> = false

const Params = Type.Object({ id: Type.String() })
export const events = { progress: Type.Object({ percent: Type.Integer() }), done: Type.Object({ ok: Type.Boolean() }) }

export function build () {
  const app = Fastify().withTypeProvider<TypeBoxTypeProvider>()
  app.register(sse)
  app.get('/jobs/:id', { schema: { params: Params }, sse: { events } }, (request, reply) =>
    reply.sse(async function * (): EventGenerator<typeof events, TypeBoxTypeProvider> {
      yield { event: 'progress', data: { percent: request.params.id.length } }
      // @ts-expect-error: data of the wrong type
      yield { event: 'done', data: { ok: 'yes' } }
    }))
  // @ts-expect-error: explicit generics without the map do not compile
  app.get<{ Params: { id: string } }>('/explicit/:id', { sse: { events } }, (request, reply) => reply.sse([{ event: 'nope', data: 1 }]))
  createSseClient<typeof events, TypeBoxTypeProvider>('/jobs/1', { EventSource: class { readyState = 0; addEventListener () {} removeEventListener () {} close () {} } })
    .on('progress', (data) => data.percent.toFixed())
  return app
}
