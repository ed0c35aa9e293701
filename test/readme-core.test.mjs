// Runs the guides' core examples: test/readme/progress.mjs and testing-inject.mjs (docs/testing.md),
// live-feed.mjs (docs/recipes.md). The README's quick start runs as pasted in quick-start.test.mjs.
import { test } from 'tap'
import { injectEvents } from 'fastify-typed-sse/testing'
import { app as progress } from './readme/progress.mjs'
import { app as feed, prices } from './readme/live-feed.mjs'
import './readme/testing-inject.mjs'
import { until } from './helpers/wait.mjs'

test('the app of the testing guide: three progress events with ids, the last at 100 %, then done', async (t) => {
  t.teardown(() => progress.close())
  const [res, { events }] = await Promise.all([progress.inject('/jobs/7/progress'), injectEvents(progress, '/jobs/7/progress')])
  t.match(res.body, /event: done\n/, 'plain inject gets the whole stream')
  t.same(events.map((e) => [e.type, e.lastEventId]), [['progress', '1'], ['progress', '2'], ['progress', '3'], ['done', '3']])
  t.same(events.slice(0, 3).map((e) => JSON.parse(e.data).percent), [33, 67, 100])
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
