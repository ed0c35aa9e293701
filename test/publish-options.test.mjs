// publish() options are checked before anything reaches the store, and a mistake has the code
// of publish options while still being an option error by instanceof.
import { test } from 'tap'
import { errors } from 'fastify-typed-sse'
import { replayApp, spyStore } from './helpers/replay.mjs'

test('a bad idempotencyKey: FST_SSE_INVALID_PUBLISH_OPTION (an option error), nothing stored, counted', async (t) => {
  const store = spyStore()
  const { app, s } = await replayApp(t, { store })
  const bad = ['', 0, 1, null, true, {}, [], Symbol('k'), () => 'k', Object('k')] // the last one a boxed string
  for (const idempotencyKey of bad) {
    const err = await s.publish({ data: 'x' }, { idempotencyKey }).then(() => undefined, (e) => e)
    const shown = typeof idempotencyKey === 'symbol' ? 'a symbol' : JSON.stringify(idempotencyKey) ?? typeof idempotencyKey
    t.equal(err?.code, 'FST_SSE_INVALID_PUBLISH_OPTION', `${shown}: its own code`)
    t.ok(err instanceof errors.FST_SSE_INVALID_PUBLISH_OPTION, `${shown}: instanceof its class`)
    t.ok(err instanceof errors.FST_SSE_INVALID_OPTION && err instanceof TypeError, `${shown}: and of the option family`)
    t.match(err?.message, /idempotencyKey must be a non-empty string/, `${shown}: names the option`)
  }
  t.equal(store.calls.append, 0, 'nothing reached the store')
  t.equal(app.sse.metrics().publishFailures, bad.length, 'each failure counted')
  const stored = await s.publish({ data: 'x' }, { idempotencyKey: 'op-1' })
  t.equal(store.calls.append, 1, 'a good key goes through')
  t.equal((await s.publish({ data: 'x' }, { idempotencyKey: 'op-1' })).id, stored.id, 'and dedupes')
})
