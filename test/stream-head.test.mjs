import { test } from 'tap'
import { injectEvents } from 'fastify-typed-sse/testing'
import { build } from './helpers/app.mjs'

test('stream.head() gives the position to subscribe from, per key for keyed streams', async (t) => {
  const app = await build(t)
  const feed = app.sse.stream('feed')
  const inbox = app.sse.stream('inbox', { key: (request) => request.headers['x-user'] })
  app.get('/feed', (request, reply) => reply.sse.subscribe(feed))

  const empty = await feed.head()
  t.match(empty, /^[0-9A-Za-z_-]{6,32}:0$/, 'offset 0 before the first event')
  await feed.publish({ data: 'a' })
  const stored = await feed.publish({ data: 'b' })
  t.equal(await feed.head(), stored.id, 'the newest event')

  // A page that took a snapshot at head 1 resumes after it, from the query parameter.
  const epoch = empty.split(':')[0]
  const res = await injectEvents(app, `/feed?lastEventId=${epoch}:1`, { count: 1 })
  t.same(res.events.map((e) => [e.data, e.lastEventId]), [['b', stored.id]])

  const alice = await inbox.publish({ data: 'hi' }, { key: 'alice' })
  t.equal(await inbox.head({ key: 'alice' }), alice.id)
  t.match(await inbox.head({ key: 'bob' }), /:0$/, 'another key is another stream')
  await t.rejects(inbox.head(), { code: 'FST_SSE_INVALID_KEY' })
  await t.rejects(feed.head({ key: 'x' }), { code: 'FST_SSE_INVALID_KEY' })
})
