import { test } from 'tap'
import { request } from 'undici'
import { injectEvents } from 'fastify-typed-sse/testing'
import { build, listen } from './helpers/app.mjs'

function never (signal) {
  return new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
}

test('HTTP/1.1 streams carry the streaming headers', async (t) => {
  const app = await build(t)
  app.get('/', (request, reply) => reply.sse([{ data: 'x' }]))
  const port = await listen(app)
  const res = await request(`http://127.0.0.1:${port}/`)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8')
  t.equal(res.headers['cache-control'], 'no-cache, no-transform')
  t.equal(res.headers['x-accel-buffering'], 'no')
  t.equal(res.headers.connection, 'keep-alive')
  t.notOk('content-length' in res.headers, 'no length on a stream')
  t.equal(await res.body.text(), ':\n\ndata: x\n\n')
})

test('headers and status set by hooks and by the handler are sent', async (t) => {
  const app = await build(t)
  app.addHook('onRequest', async (request, reply) => {
    reply.header('access-control-allow-origin', 'https://app.example')
    reply.header('content-length', '123') // must not survive: a stream has no length
  })
  app.get('/', (request, reply) => {
    reply.code(201).header('x-trace', 'abc').header('cache-control', 'public, max-age=60')
    return reply.sse([{ data: 'x' }])
  })
  const port = await listen(app)
  const res = await request(`http://127.0.0.1:${port}/`)
  t.equal(res.statusCode, 201)
  t.equal(res.headers['access-control-allow-origin'], 'https://app.example')
  t.equal(res.headers['x-trace'], 'abc')
  t.equal(res.headers['cache-control'], 'no-cache, no-transform', 'caching a stream is never allowed')
  t.notOk('content-length' in res.headers)
  await res.body.text()
})

test('a hook can refuse before any stream starts', async (t) => {
  const app = await build(t)
  app.addHook('preHandler', async (request, reply) => {
    if (request.headers.authorization !== 'Bearer ok') return reply.code(401).send({ error: 'unauthorized' })
  })
  let started = false
  app.get('/', (request, reply) => {
    started = true
    return reply.sse([{ data: 'secret' }])
  })
  const denied = await app.inject('/')
  t.equal(denied.statusCode, 401)
  t.equal(denied.json().error, 'unauthorized')
  t.notOk(started, 'the handler never ran')
  const allowed = await app.inject({ url: '/', headers: { authorization: 'Bearer ok' } })
  t.equal(allowed.body, ':\n\ndata: secret\n\n')
})

test('headers leave at once with an opening frame, before the first event', async (t) => {
  const app = await build(t, { retryMs: 2500 })
  app.get('/', (request, reply) => reply.sse(async function * ({ signal }) {
    await never(signal)
    yield { data: 'never sent' }
  }))
  // payloadAsStream resolves once the head is written; without an opening frame it would wait forever.
  const result = await injectEvents(app, '/', { timeoutMs: 200 }).catch((err) => err)
  t.match(result.message, /0 of Infinity events/, 'no events, and the helper gives up cleanly')
  t.equal(result.code, 'FST_SSE_INJECT_TIMEOUT', 'with a coded error')
  const controller = new AbortController()
  const res = await app.inject({ url: '/', payloadAsStream: true, signal: controller.signal })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8')
  const first = await new Promise((resolve) => res.stream().once('data', resolve))
  t.equal(first.toString(), 'retry: 2500\n\n', 'the retry hint is the opening frame')
  controller.abort()
})
