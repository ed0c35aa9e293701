import Fastify from 'fastify'
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import sse, { type EventGenerator } from 'fastify-typed-sse'

const buildEvents = {
  log: Type.Object({ line: Type.String() }),
  finished: Type.Object({ status: Type.Union([Type.Literal('passed'), Type.Literal('failed')]) })
}

export async function buildCi () {
  const app = Fastify().withTypeProvider<TypeBoxTypeProvider>()
  await app.register(sse)
  app.get('/builds/:id/log', { schema: { params: Type.Object({ id: Type.Integer() }) }, sse: { events: buildEvents } },
    (request, reply) => reply.sse(async function * (): EventGenerator<typeof buildEvents, TypeBoxTypeProvider> {
      yield { event: 'log', data: { line: `build ${request.params.id} started` } }
      yield { event: 'finished', data: { status: 'passed' } }
      // yield { event: 'finished', data: { status: 'ok' } }   <- compile error at this line
    }))
  return app
}
