// Build progress, typed with Zod: the same kind of stream as a job's (lib/jobs.mjs), declared
// the way a Zod user declares routes, through fastify-type-provider-zod. Its compilers are set
// in this plugin's own context, so the TypeBox routes beside it keep Fastify's.
import { setTimeout as sleep } from 'node:timers/promises'
import { z } from 'zod'
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'

export const buildEvents = {
  progress: z.object({ step: z.string(), percent: z.number().int().min(0).max(100) }),
  done: z.object({ ok: z.boolean(), elapsedMs: z.number().int().min(0) })
}

const STEPS = ['Checkout', 'Install', 'Compile', 'Test', 'Package']
const SPEEDS = { fast: 20, normal: 300 }

/** @param {import('fastify').FastifyInstance} app */
export async function buildRoutes (app) {
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  app.get('/api/builds/:id/events', {
    schema: {
      params: z.object({ id: z.string().regex(/^[a-z0-9-]{1,40}$/) }),
      querystring: z.object({ speed: z.enum(['fast', 'normal']).default('normal') })
    },
    sse: { events: buildEvents }
  }, (request, reply) => reply.sse(async function * ({ signal }) {
    const started = Date.now()
    for (const [i, step] of STEPS.entries()) {
      await sleep(SPEEDS[request.query.speed], undefined, { signal })
      yield { event: 'progress', data: { step, percent: Math.round((i + 1) * 100 / STEPS.length) } }
    }
    yield { event: 'done', data: { ok: true, elapsedMs: Date.now() - started } }
  }))
}
