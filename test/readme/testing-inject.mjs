import { test } from 'tap'
import { injectEvents } from 'fastify-typed-sse/testing'
import { app } from './progress.mjs'

test('a finite stream: plain inject returns the whole body', async (t) => {
  const res = await app.inject('/jobs/1/progress')
  t.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8')
  t.match(res.body, 'event: done')
})

test('an infinite stream: stop after the events you need', async (t) => {
  // Collects parsed events, then disconnects: the producer's signal aborts as for a real client.
  const { events } = await injectEvents(app, '/jobs/1/progress', { count: 2 })
  t.same(events.map((e) => e.type), ['progress', 'progress'])
  t.same(JSON.parse(events[0].data), { step: 'Validating', percent: 33 })
})

test('the same by hand: payloadAsStream and an abort signal', async (t) => {
  const controller = new AbortController()
  const res = await app.inject({ url: '/jobs/1/progress', payloadAsStream: true, signal: controller.signal })
  for await (const chunk of res.stream()) {
    if (String(chunk).includes('event: progress')) break
  }
  controller.abort() // the client "leaves": the producer is cancelled
})
