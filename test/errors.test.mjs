import t0, { test } from 'tap'
import { injectEvents } from 'fastify-typed-sse/testing'
import { build } from './helpers/app.mjs'

const unhandled = []
process.on('unhandledRejection', (err) => unhandled.push(err))
t0.teardown(() => {
  if (unhandled.length) throw new Error(`unhandled rejections: ${unhandled.map(String).join(', ')}`)
})

async function failingRoute (t, producer, pluginOptions) {
  const app = await build(t, pluginOptions)
  let result
  app.get('/', async (request, reply) => { result = await reply.sse(producer) })
  app.get('/ok', async () => ({ ok: true }))
  const res = await injectEvents(app, '/')
  return { app, res, result: () => result }
}

function errorLogs (app) {
  return app.logs.filter((l) => l.level >= 50)
}

test('a producer that throws: logged, a terminal error event with a safe message, the stream ends, the app serves on', async (t) => {
  const { app, res, result } = await failingRoute(t, async function * () {
    yield { data: 'before' }
    throw new Error('database password is hunter2')
  })
  t.same(res.events.map((e) => [e.type, e.data]), [
    ['message', 'before'],
    ['error', '{"message":"Internal Server Error"}']
  ])
  t.notMatch(res.body, /hunter2|at .*\.mjs/, 'neither the message nor a stack reaches the client')
  const logged = errorLogs(app)
  t.equal(logged.length, 1)
  t.equal(logged[0].err.message, 'database password is hunter2', 'the real error is in the log')
  t.ok(logged[0].reqId, 'logged through request.log')
  t.equal(result().reason, 'error')
  t.equal((await app.inject('/ok')).json().ok, true)
})

test('an item the encoder rejects ends the stream the same way, and the producer is cancelled', async (t) => {
  let finished = false
  const { app, res, result } = await failingRoute(t, async function * () {
    try {
      yield { id: 'a\nb', data: 'x' }
      yield { data: 'never' }
    } finally {
      finished = true
    }
  })
  t.same(res.events.map((e) => e.type), ['error'])
  t.equal(errorLogs(app)[0].err.code, 'FST_SSE_INVALID_EVENT')
  t.ok(finished, 'return() ran the producer\'s finally')
  t.equal(result().error.code, 'FST_SSE_INVALID_EVENT')
})

test('a serializer that throws ends the stream with the error event', async (t) => {
  const { app, res } = await failingRoute(t, [{ data: { n: 1 } }, { data: { n: 2n } }])
  t.same(res.events.map((e) => e.type), ['message', 'error'])
  t.equal(errorLogs(app)[0].err.code, 'FST_SSE_SERIALIZE')
})

test('a custom serializer that throws is contained too', async (t) => {
  const { app, res } = await failingRoute(t, [{ data: { n: 1 } }], {
    serializer: () => { throw new Error('nope') }
  })
  t.same(res.events.map((e) => e.type), ['error'])
  t.equal(errorLogs(app)[0].err.message, 'nope')
})

test('errorEvent shapes the terminal event, or turns it off', async (t) => {
  const custom = await failingRoute(t, async function * () { throw Object.assign(new Error('x'), { code: 'E_QUOTA' }) }, {
    errorEvent: (err) => ({ event: 'failed', data: { code: err.code } })
  })
  t.same(custom.res.events.map((e) => [e.type, e.data]), [['failed', '{"code":"E_QUOTA"}']])

  const off = await failingRoute(t, async function * () { throw new Error('x') }, { errorEvent: false })
  t.same(off.res.events, [])
  t.equal(off.result().reason, 'error')
})

test('an errorEvent that itself throws still ends the stream cleanly', async (t) => {
  const { app, res } = await failingRoute(t, async function * () { throw new Error('first') }, {
    errorEvent: () => { throw new Error('second') }
  })
  t.same(res.events, [])
  t.same(errorLogs(app).map((l) => l.err.message), ['first', 'second'])
})

test('a producer that rejects with a non-Error is wrapped in a coded error', async (t) => {
  const { app, res } = await failingRoute(t, {
    [Symbol.asyncIterator]: () => ({ next: () => Promise.reject('just a string') }) // eslint-disable-line prefer-promise-reject-errors
  })
  t.same(res.events.map((e) => e.type), ['error'])
  t.equal(errorLogs(app)[0].err.code, 'FST_SSE_PRODUCER')
  t.match(errorLogs(app)[0].err.message, /just a string/)
})

test('a sync iterator whose next() throws is contained', async (t) => {
  const { res } = await failingRoute(t, {
    [Symbol.iterator]: () => ({ next: () => { throw new Error('sync') } })
  })
  t.same(res.events.map((e) => e.type), ['error'])
})

test('a producer function that fails before the stream starts gives an ordinary HTTP error', async (t) => {
  const app = await build(t)
  app.get('/missing', (request, reply) => reply.sse(() => {
    throw Object.assign(new Error('job not found'), { statusCode: 404 })
  }))
  app.get('/async', (request, reply) => reply.sse(async () => {
    await new Promise((resolve) => setImmediate(resolve))
    throw Object.assign(new Error('forbidden'), { statusCode: 403 })
  }))
  const missing = await app.inject('/missing')
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().message, 'job not found')
  t.equal((await app.inject('/async')).statusCode, 403)
})

test('invalid sources and double starts are programming errors with codes', async (t) => {
  const app = await build(t)
  app.get('/string', (request, reply) => reply.sse('hello'))
  app.get('/number', (request, reply) => reply.sse(42))
  app.get('/object', (request, reply) => reply.sse({}))
  app.get('/fn-returns-number', (request, reply) => reply.sse(() => 42))
  app.get('/twice', async (request, reply) => {
    reply.sse.open()
    try {
      await reply.sse([{ data: 'x' }])
    } catch (err) {
      reply.raw.end(`data: ${err.code}\n\n`)
    }
  })
  for (const path of ['/string', '/number', '/object', '/fn-returns-number']) {
    const res = await app.inject(path)
    t.equal(res.statusCode, 500, path)
    t.equal(res.json().code, 'FST_SSE_INVALID_SOURCE', path)
  }
  t.match((await app.inject('/twice')).body, /data: FST_SSE_ALREADY_STARTED/)
})

test('a reply already sent cannot start a stream', async (t) => {
  const app = await build(t)
  let error
  app.get('/', async (request, reply) => {
    await reply.send('plain')
    try {
      await reply.sse([{ data: 'x' }])
    } catch (err) {
      error = err
    }
    return reply
  })
  t.equal((await app.inject('/')).body, 'plain')
  t.equal(error?.code, 'FST_SSE_HEADERS_SENT')
})

test('an oversized event ends the stream with the error event instead of being sent', async (t) => {
  const { app, res } = await failingRoute(t, [{ data: 'small' }, { data: 'x'.repeat(2048) }, { data: 'after' }], {
    maxEventBytes: 1024
  })
  t.same(res.events.map((e) => e.type), ['message', 'error'])
  t.equal(errorLogs(app)[0].err.code, 'FST_SSE_EVENT_TOO_LARGE')
  t.match(errorLogs(app)[0].err.message, /2056 bytes, over the 1024-byte limit/)
})

test('multi-byte characters count as bytes against maxEventBytes', async (t) => {
  const { res } = await failingRoute(t, [{ data: '€'.repeat(300) }], { maxEventBytes: 800 })
  t.same(res.events.map((e) => e.type), ['error'], '900 bytes of euro signs is over 800 bytes')
})
