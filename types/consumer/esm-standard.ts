// A consumer of the published types (see esm-typebox.ts): Standard Schema (Zod 4 through its
// type provider, Valibot 1, ArkType 2), no TypeBox.
import Fastify from 'fastify'
import { z } from 'zod'
import * as v from 'valibot'
import { type } from 'arktype'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import sse, { type EventGenerator } from 'fastify-typed-sse'
import { createSseClient } from 'fastify-typed-sse/client'

export const events = {
  progress: z.object({ percent: z.number().int() }),
  done: v.object({ ok: v.boolean() }),
  note: type({ text: 'string' })
}

export function build () {
  const app = Fastify().withTypeProvider<ZodTypeProvider>()
  app.register(sse)
  app.get('/jobs/:id', { schema: { params: z.object({ id: z.string() }) }, sse: { events } }, (request, reply) =>
    reply.sse(async function * (): EventGenerator<typeof events> {
      yield { event: 'progress', data: { percent: request.params.id.length } }
      yield { event: 'note', data: { text: 'hi' } }
      // @ts-expect-error: data of the wrong type
      yield { event: 'done', data: { ok: 'yes' } }
    }))
  const stream = app.sse.stream('notes', { events })
  // @ts-expect-error: data of the wrong type
  stream.publish({ event: 'note', data: { text: 1 } }).catch(() => {})
  return app
}

export const client = createSseClient<typeof events>('/jobs/1')
client.on('progress', (data) => data.percent.toFixed())
