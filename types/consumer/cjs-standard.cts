// A consumer of the published types (see esm-typebox.ts), as CommonJS: Standard Schema (Zod 4
// through its type provider, Valibot 1; ArkType 2 is ESM-only), no TypeBox.
import Fastify from 'fastify'
import { z } from 'zod'
import * as v from 'valibot'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import sse, { type EventGenerator } from 'fastify-typed-sse'
import { createSseClient } from 'fastify-typed-sse/client'

export const events = {
  progress: z.object({ percent: z.number().int() }),
  done: v.object({ ok: v.boolean() })
}

export function build () {
  const app = Fastify().withTypeProvider<ZodTypeProvider>()
  app.register(sse)
  app.get('/jobs/:id', { schema: { params: z.object({ id: z.string() }) }, sse: { events } }, (request, reply) =>
    reply.sse(async function * (): EventGenerator<typeof events> {
      yield { event: 'progress', data: { percent: request.params.id.length } }
      // @ts-expect-error: data of the wrong type
      yield { event: 'done', data: { ok: 'yes' } }
    }))
  const stream = app.sse.stream('notes', { events })
  // @ts-expect-error: data of the wrong type
  stream.publish({ event: 'done', data: { ok: 1 } }).catch(() => {})
  return app
}

export const client = createSseClient<typeof events>('/jobs/1')
client.on('progress', (data) => data.percent.toFixed())
