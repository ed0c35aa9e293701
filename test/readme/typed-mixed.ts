import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import { z } from 'zod'
import * as v from 'valibot'
import sse from 'fastify-typed-sse'

export const jobEvents = {
  progress: z.object({ step: z.string(), percent: z.number().int().min(0).max(100) }),
  done: Type.Object({ ok: Type.Boolean() }),
  note: v.string()
}

export async function buildApp () {
  const app = Fastify()
  await app.register(sse)
  const jobs = app.sse.stream('jobs', { events: jobEvents })
  app.get('/jobs/progress', (request, reply) => reply.sse.subscribe(jobs, {
    filter: (event) => event.event !== 'note'
  }))
  app.post('/jobs', async () => {
    const first = await jobs.publish({ event: 'progress', data: { step: 'job 1', percent: 33 } })
    await jobs.publish({ event: 'note', data: 'not for the progress page' })
    await jobs.publish({ event: 'done', data: { ok: true } })
    // await jobs.publish({ event: 'done', data: { ok: 'yes' } })   <- compile error; refused at run time too
    return { first: first.id }
  })
  return app
}
