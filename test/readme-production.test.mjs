// Runs the README's production recipe (test/readme/production.mjs) over real sockets: the dual
// route, the per-user cap, and the end of a stream when its session expires.
import { test } from 'tap'
import { Agent, EventSource } from 'undici'
import { app, orders, sessions } from './readme/production.mjs'
import { bodyOf, rawGet } from './helpers/app.mjs'
import { until } from './helpers/wait.mjs'

test('production recipe', async (t) => {
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = app.server.address().port
  sessions.set('t1', { userId: 'ann', expiresAt: Date.now() + 3_600_000 })
  sessions.set('t2', { userId: 'bob', expiresAt: Date.now() + 3_600_000 })

  // The session travels in a cookie, as a browser sends it to its own origin.
  const cookie = (id) => ({ cookie: `theme=dark; session=${id}` })
  const snapshot = await fetch(`http://127.0.0.1:${port}/orders`, { headers: cookie('t1') })
  t.same(await snapshot.json(), { head: await orders.head() }, 'fetch() gets the JSON snapshot')
  t.equal((await fetch(`http://127.0.0.1:${port}/orders`)).status, 401)

  const withCookie = new Agent().compose((dispatch) => (options, handler) => dispatch({ ...options, headers: { ...options.headers, ...cookie('t1') } }, handler))
  const es = new EventSource(`http://127.0.0.1:${port}/orders`, { dispatcher: withCookie })
  t.teardown(() => es.close())
  const got = []
  es.onmessage = (e) => got.push(e.data)
  await until(() => app.sse.metrics().subscribers === 1, 'EventSource gets the stream')
  await orders.publish({ data: 'order 1' })
  await until(() => got.length === 1, 'the event')

  const tabs = []
  for (let i = 0; i < 4; i++) tabs.push(rawGet(port, '/orders', { accept: 'text/event-stream', ...cookie('t1') }))
  await until(() => app.sse.openStreams === 5, 'five streams for ann')
  const sixth = rawGet(port, '/orders', { accept: 'text/event-stream', ...cookie('t1') })
  await sixth.closed
  t.match(bodyOf(sixth.text), /retry: \d+\n\n$/, 'a sixth tab of the same user is told to come back later')
  const bobs = rawGet(port, '/orders', { accept: 'text/event-stream', ...cookie('t2') })
  await until(() => app.sse.openStreams === 6, 'another user is not affected')
  for (const tab of [...tabs, bobs]) tab.socket.destroy()

  // A session that expires soon: its stream ends then, and the reconnection is refused.
  sessions.set('t3', { userId: 'cy', expiresAt: Date.now() + 150 })
  const expiring = rawGet(port, '/orders', { accept: 'text/event-stream', ...cookie('t3') })
  await expiring.closed
  t.match(bodyOf(expiring.text), /retry: 1000\n\n$/, 'ended with the reconnect hint')
  t.equal(app.sse.metrics().streamsEnded.expired, 1)
  const again = await fetch(`http://127.0.0.1:${port}/orders`, { headers: { accept: 'text/event-stream', ...cookie('t3') } })
  t.equal(again.status, 401, 'the reconnection must sign in again')
})
