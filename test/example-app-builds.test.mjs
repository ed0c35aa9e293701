// The example app's Zod route: build progress declared through fastify-type-provider-zod,
// beside the TypeBox routes, which keep Fastify's own compilers.
import { test } from 'tap'
import { injectEvents } from 'fastify-typed-sse/testing'
import { buildApp } from '../example-app/app.mjs'

async function exampleApp (t) {
  const app = await buildApp({ publishIntervalMs: 0, tokenDelayMs: 0 })
  t.teardown(() => app.close())
  await app.ready()
  return app
}

test('a build streams its steps, then done; the Zod params and querystring are validated', async (t) => {
  const app = await exampleApp(t)
  const { statusCode, events } = await injectEvents(app, '/api/builds/b-1/events?speed=fast')
  t.equal(statusCode, 200)
  t.same(events.slice(0, -1).map((e) => JSON.parse(e.data)), [
    { step: 'Checkout', percent: 20 }, { step: 'Install', percent: 40 }, { step: 'Compile', percent: 60 },
    { step: 'Test', percent: 80 }, { step: 'Package', percent: 100 }
  ])
  const done = events.at(-1)
  t.equal(done.type, 'done')
  t.match(JSON.parse(done.data), { ok: true, elapsedMs: Number })
  t.equal((await app.inject('/api/builds/NOT_AN_ID/events')).statusCode, 400, 'params checked by Zod')
  t.equal((await app.inject('/api/builds/b-1/events?speed=warp')).statusCode, 400, 'querystring checked by Zod')
  const job = await app.inject({ method: 'POST', url: '/api/jobs', payload: { speed: 'fast' } })
  t.equal(job.statusCode, 201, 'the TypeBox routes keep their own compilers')
  t.equal((await app.inject({ method: 'POST', url: '/api/jobs', payload: { speed: 'warp' } })).statusCode, 400)
})
