// Runs the README's core examples (test/readme/quick-start.mjs, live-feed.mjs, testing-inject.mjs).
import { test } from 'tap'
import { injectEvents } from 'fastify-typed-sse/testing'
import { app as quickStart } from './readme/quick-start.mjs'
import { app as feed, prices } from './readme/live-feed.mjs'
import './readme/testing-inject.mjs'
import { until } from './helpers/wait.mjs'

test('quick start: three progress events with ids, then done', async (t) => {
  t.teardown(() => quickStart.close())
  // Both at once: each stream spends the example's own pauses between its steps.
  const [res, { events }] = await Promise.all([quickStart.inject('/jobs/7/progress'), injectEvents(quickStart, '/jobs/7/progress')])
  t.match(res.body, /^retry: 3000\n\n/)
  t.same(events.map((e) => [e.type, e.lastEventId]), [['progress', '1'], ['progress', '2'], ['progress', '3'], ['done', '3']])
  t.same(JSON.parse(events[2].data), { step: 'Confirming', percent: 99 })
})

test('live feed: emitter events become SSE events, and the listener goes with the client', async (t) => {
  t.teardown(() => feed.close())
  const pending = injectEvents(feed, '/prices', { count: 2 })
  await until(() => prices.listenerCount('price') > 0, 'the stream to listen')
  prices.emit('price', 'ACME', 10)
  prices.emit('price', 'ACME', 11)
  const { events } = await pending
  t.same(events.map((e) => JSON.parse(e.data)), [{ symbol: 'ACME', price: 10 }, { symbol: 'ACME', price: 11 }])
  await until(() => prices.listenerCount('price') === 0, 'the listener to be removed on disconnect')
  t.equal(prices.listenerCount('price'), 0, 'the listener was removed on disconnect')
  const clock = await injectEvents(feed, '/clock', { count: 1 })
  t.equal(clock.events[0].type, 'tick')
  t.ok(!Number.isNaN(Date.parse(clock.events[0].data)))
})

test('injectEvents reports the last event id a browser would resume from, id-only blocks included', async (t) => {
  const app = (await import('fastify')).default()
  await app.register((await import('fastify-typed-sse')).default)
  t.teardown(() => app.close())
  app.get('/', (request, reply) => reply.sse([{ id: 'a', data: 1 }, { id: 'b' }]))
  const res = await injectEvents(app, '/')
  t.same(res.events.map((e) => e.lastEventId), ['a'])
  t.equal(res.lastEventId, 'b')
})
