// Events produced in one burst leave in one write, but batching must never hold an event back:
// one produced alone is handed to the socket in the turn it was produced, before any callback
// that was already waiting for the next turn of the event loop.
import { test } from 'tap'
import { build, listen, rawGet } from './helpers/app.mjs'
import { until } from './helpers/wait.mjs'

test('a lone event is written in the turn it was produced', async (t) => {
  const app = await build(t)
  const order = []
  let go
  let release
  const started = new Promise((resolve) => { go = resolve })
  app.get('/', (request, reply) => {
    const raw = reply.raw
    const write = raw.write
    raw.write = function (chunk, ...rest) {
      if (String(chunk).includes('data: lone')) order.push('write')
      return write.call(this, chunk, ...rest)
    }
    return reply.sse(async function * () {
      // After the opening frame has left, so the event starts a batch of its own.
      await started
      // Queued before the event exists: the write must still come first.
      setImmediate(() => order.push('next turn'))
      yield { data: 'lone' }
      // The producer then waits on something slow: nothing else arrives to fill a batch.
      await new Promise((resolve) => { release = resolve })
    })
  })
  const port = await listen(app)
  const client = rawGet(port, '/')
  await until(() => client.text.includes('\r\n\r\n'), 'the response head and opening frame')
  go()
  await until(() => order.includes('next turn') && client.text.includes('data: lone'), 'the event and the next turn')
  t.same(order, ['write', 'next turn'])
  release()
  await client.closed
})
