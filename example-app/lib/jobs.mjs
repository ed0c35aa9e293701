// Job progress: a POST creates a job, and the job runs while a client watches its event
// stream. The producer's signal aborts when that client goes away (page closed, Cancel),
// which stops the work: nobody is left to report to.
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Type } from '@sinclair/typebox'
import { jobEvents } from './events.mjs'

const STEPS = ['Reading input', 'Validating', 'Transforming', 'Writing', 'Indexing', 'Verifying']
const TICKS = 20
export const SPEEDS = { fast: 50, normal: 400, slow: 1500 }
// Finished jobs are kept for the status endpoint, but not forever.
const KEEP = 200

export function jobRoutes (app) {
  const jobs = new Map()

  const remember = (job) => {
    jobs.set(job.id, job)
    if (jobs.size > KEEP) jobs.delete(jobs.keys().next().value)
  }
  const view = ({ id, status, step, percent, speed }) => ({ id, status, step, percent, speed })

  app.post('/api/jobs', {
    schema: { body: Type.Optional(Type.Object({ speed: Type.Optional(Type.Union(Object.keys(SPEEDS).map((s) => Type.Literal(s)))) })) }
  }, async (request, reply) => {
    const job = { id: randomUUID(), status: 'pending', step: '', percent: 0, speed: request.body?.speed ?? 'normal' }
    remember(job)
    return reply.code(201).send(view(job))
  })

  app.get('/api/jobs/:id', async (request, reply) => {
    const job = jobs.get(request.params.id)
    return job === undefined ? reply.code(404).send({ error: 'Not Found', message: 'no such job' }) : view(job)
  })

  app.get('/api/jobs/:id/events', { sse: { events: jobEvents } }, (request, reply) =>
    reply.sse(({ signal }) => {
      const job = jobs.get(request.params.id)
      // Checked before the first byte, so these are plain HTTP errors (and EventSource stops).
      if (job === undefined) throw httpError(404, 'no such job')
      if (job.status !== 'pending') throw httpError(409, `job is ${job.status}`)
      job.status = 'running'
      // The signal aborts whenever the stream ends; only a job still running was cut short.
      signal.addEventListener('abort', () => {
        if (job.status === 'running') job.status = 'cancelled'
      }, { once: true })
      return run(job, signal)
    }))
}

function httpError (statusCode, message) {
  return Object.assign(new Error(message), { statusCode })
}

async function * run (job, signal) {
  const started = Date.now()
  for (let tick = 1; tick <= TICKS; tick++) {
    // The work itself: a real job would pass the signal to its I/O the same way.
    await sleep(SPEEDS[job.speed], undefined, { signal })
    job.step = STEPS[Math.min(STEPS.length - 1, Math.floor((tick - 1) * STEPS.length / TICKS))]
    job.percent = Math.round(tick * 100 / TICKS)
    yield { event: 'progress', data: { step: job.step, percent: job.percent } }
  }
  job.status = 'done'
  yield { event: 'done', data: { ok: true, elapsedMs: Date.now() - started } }
}
