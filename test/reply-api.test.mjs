// `reply.sse` itself: its methods work destructured, it can be read again after the stream
// started (same state: a second start is refused), and it costs an open stream nothing once
// the stream runs.
import { test } from 'tap'
import { fileURLToPath } from 'node:url'
import { build, listen, rawGet } from './helpers/app.mjs'
import { failOnEscapes } from './helpers/escapes.mjs'
import { runNodeForJson } from './helpers/child.mjs'

test('destructured methods work, and reply.sse read after the start keeps the stream\'s state', async (t) => {
  failOnEscapes(t)
  const app = await build(t)
  const seen = {}
  app.get('/open', (request, reply) => {
    const { open, accepted, lastEventId } = reply.sse
    seen.before = { accepted, lastEventId }
    const stream = open()
    // Read again after the start: another object over the same state.
    seen.after = { accepted: reply.sse.accepted, lastEventId: reply.sse.lastEventId }
    try {
      reply.sse.open()
    } catch (err) {
      seen.again = err.code
    }
    stream.send({ data: 'one' })
    stream.close()
    return stream.done
  })
  const port = await listen(app)
  const client = rawGet(port, '/open', { accept: 'text/event-stream', 'last-event-id': 'x:1' })
  await client.closed
  t.match(client.text, /data: one\n\n/)
  t.same(seen.before, { accepted: true, lastEventId: 'x:1' })
  t.same(seen.after, seen.before, 'the same answers after the start')
  t.equal(seen.again, 'FST_SSE_ALREADY_STARTED', 'a second start is refused')
})

test('every reply.sse shares one hidden class, and an open stream does not keep it alive', async (t) => {
  const script = fileURLToPath(new URL('./helpers/reply-api-heap.mjs', import.meta.url))
  const result = await runNodeForJson(['--expose-gc', '--allow-natives-syntax', script], { timeout: 60_000 })
  t.equal(result.open, 1, 'measured while the stream was open')
  t.equal(result.sameShape, true, 'one hidden class for all: an accessor defined on each would give each its own')
  t.equal(result.collected, true, 'the reply forgot it once the stream started')
})
