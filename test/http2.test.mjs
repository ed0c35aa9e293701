import { test } from 'tap'
import http2 from 'node:http2'
import { decodeEvents } from 'fastify-typed-sse/testing'
import { build, countingProducer } from './helpers/app.mjs'
import { until } from './helpers/wait.mjs'

function open (port, path) {
  const session = http2.connect(`http://127.0.0.1:${port}`)
  session.on('error', () => {})
  const stream = session.request({ ':path': path })
  const result = { session, stream, headers: undefined, body: '' }
  stream.setEncoding('utf8')
  stream.on('response', (headers) => { result.headers = headers })
  stream.on('data', (chunk) => { result.body += chunk })
  stream.on('error', () => {})
  result.ended = new Promise((resolve) => stream.on('close', resolve))
  return result
}

test('streams over HTTP/2 without connection-specific headers or warnings', async (t) => {
  const warnings = []
  const onWarning = (w) => warnings.push(w)
  process.on('warning', onWarning)
  t.teardown(() => process.off('warning', onWarning))
  const app = await build(t, {}, { http2: true })
  app.get('/', (request, reply) => reply.sse([{ event: 'a', data: 1 }, { id: 'x', data: 'two\nlines' }]))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const client = open(app.server.address().port, '/')
  await client.ended
  client.session.close()
  t.equal(client.headers[':status'], 200)
  t.equal(client.headers['content-type'], 'text/event-stream; charset=utf-8')
  t.equal(client.headers['cache-control'], 'no-cache, no-transform')
  t.notOk('connection' in client.headers, 'no Connection header on HTTP/2')
  t.same(decodeEvents(client.body).map((e) => [e.type, e.data, e.lastEventId]), [['a', '1', ''], ['message', 'two\nlines', 'x']])
  // Warnings are emitted on the next tick of whatever caused them: one turn of the loop later, any is in.
  await new Promise((resolve) => setImmediate(resolve))
  t.same(warnings.map(String), [], 'Node printed no warning')
})

test('an HTTP/2 client that cancels its stream cancels the producer', async (t) => {
  const app = await build(t, {}, { http2: true })
  const seen = { finally: false, aborted: false }
  app.get('/', (request, reply) => reply.sse(countingProducer(seen)))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const client = open(app.server.address().port, '/')
  await until(() => client.body.includes('data: 3'), 'a few events')
  client.stream.close(http2.constants.NGHTTP2_CANCEL)
  await until(() => seen.finally, 'the producer to be cancelled')
  t.ok(seen.aborted)
  client.session.close()
})

test('fastify.close() ends open HTTP/2 streams and resolves', async (t) => {
  const app = await build(t, { shutdownEvent: { event: 'bye', data: '' } }, { http2: true })
  app.get('/', (request, reply) => reply.sse.open().done)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = app.server.address().port
  const clients = Array.from({ length: 10 }, () => open(port, '/'))
  await until(() => app.sse.openStreams === 10, 'ten streams')
  const closing = app.close()
  await Promise.all(clients.map((c) => c.ended))
  for (const c of clients) c.session.close()
  await closing
  t.ok(clients.every((c) => decodeEvents(c.body).at(-1)?.type === 'bye'), 'every client got the shutdown event')
})
