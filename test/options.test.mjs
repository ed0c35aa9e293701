import { test } from 'tap'
import Fastify from 'fastify'
import sse from 'fastify-typed-sse'

const invalid = [
  [{ heartbeatMs: -1 }, /heartbeatMs must be a non-negative integer or false, got -1/],
  [{ heartbeatMs: 1.5 }, /heartbeatMs/],
  [{ heartbeatMs: '1000' }, /heartbeatMs must be a non-negative integer or false, got "1000"/],
  [{ stallTimeoutMs: -5 }, /stallTimeoutMs/],
  [{ retryMs: -1 }, /retryMs must be a non-negative integer, got -1/],
  [{ retryMs: NaN }, /retryMs/],
  [{ maxBufferedBytes: 0 }, /maxBufferedBytes must be a positive integer, got 0/],
  [{ maxEventBytes: Infinity }, /maxEventBytes must be a positive integer/],
  [{ maxLastEventIdLength: 0 }, /maxLastEventIdLength/],
  [{ serializer: 'json' }, /serializer must be a function, got "json"/],
  [{ errorEvent: true }, /errorEvent must be a function or false, got true/],
  [{ lastEventIdQuery: '' }, /lastEventIdQuery must be a non-empty string or false/],
  [{ lastEventIdQuery: 5 }, /lastEventIdQuery/],
  [{ shutdownEvent: { id: 'a\nb' } }, /shutdownEvent: .*id must not contain CR, LF or NUL/],
  [{ shutdownEvent: { retry: -1 } }, /shutdownEvent: .*retry/]
]

test('invalid options fail at register time with a clear, coded error', async (t) => {
  for (const [options, message] of invalid) {
    const app = Fastify()
    const err = await app.register(sse, options).ready().then(() => null, (e) => e)
    t.equal(err?.code, 'FST_SSE_INVALID_OPTION', JSON.stringify(options) ?? String(options))
    t.match(err?.message, message)
    await app.close().catch(() => {})
  }
})

test('a shutdownEvent the encoder refuses keeps the encoder\'s coded error as its cause', async (t) => {
  const app = Fastify()
  const err = await app.register(sse, { shutdownEvent: { event: 'bye\nid: 1' } }).ready().then(() => null, (e) => e)
  t.equal(err?.code, 'FST_SSE_INVALID_OPTION')
  t.equal(err?.cause?.code, 'FST_SSE_INVALID_EVENT')
  t.match(err?.message, err?.cause?.message)
  await app.close().catch(() => {})
})

test('valid options are accepted', async (t) => {
  const app = Fastify()
  await app.register(sse, {
    heartbeatMs: 0,
    stallTimeoutMs: false,
    retryMs: 0,
    maxBufferedBytes: 1,
    maxEventBytes: 10,
    serializer: (v) => String(v),
    errorEvent: false,
    shutdownEvent: { retry: 1000 },
    lastEventIdQuery: false,
    maxLastEventIdLength: 1
  })
  app.get('/', (request, reply) => reply.sse([{ data: 5 }]))
  t.equal((await app.inject('/')).body, 'retry: 0\n\ndata: 5\n\n')
  await app.close()
})

test('the plugin registers once per instance and declares its name', async (t) => {
  const app = Fastify()
  await app.register(sse)
  t.ok(app.hasDecorator('sse'))
  t.ok(app.hasReplyDecorator('sse'))
  t.equal(sse[Symbol.for('plugin-meta')].name, 'fastify-typed-sse')
  await app.close()
})
