// Producers are application code and may do anything: throw any value, break the iterator
// protocol, hand over items whose getters throw. Whatever they do, the stream must end (with
// the terminal error event when it failed), the error must be logged, nothing may escape as
// an unhandled rejection or an uncaught exception, and the app must answer the next request.
import { test as tapTest } from 'tap'
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import sse from 'fastify-typed-sse'
import { injectEvents } from 'fastify-typed-sse/testing'
import { hostileItem, hostileProducer, trapAll } from './helpers/hostile.mjs'
import { rng } from './helpers/rng.mjs'

const escaped = []
process.on('unhandledRejection', () => escaped.push('unhandledRejection'))
process.on('uncaughtException', () => escaped.push('uncaughtException'))

/** A test that fails when anything escaped as an unhandled rejection or uncaught exception. */
function test (name, fn) {
  tapTest(name, async (t) => {
    await fn(t)
    // A rejection is reported after the microtask queue drains: give it a macrotask to show up.
    await new Promise((resolve) => setImmediate(resolve))
    t.same(escaped.splice(0), [], 'nothing escaped as an unhandled rejection or uncaught exception')
  })
}

/** An app whose one route streams `holder.source`, with its log lines collected. */
async function hostApp (t, pluginOptions = {}, loggerOptions = {}) {
  const logs = []
  const stream = new Writable({
    write (chunk, encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line))
      callback()
    }
  })
  const app = Fastify({ logger: { level: 'debug', stream, ...loggerOptions } })
  await app.register(sse, pluginOptions)
  const holder = { source: undefined, results: [] }
  app.get('/', async (request, reply) => {
    holder.results.push(await reply.sse(holder.source))
  })
  app.get('/ok', async () => ({ ok: true }))
  t.teardown(() => app.close())
  return { app, logs, holder }
}

async function runCase (t, host, c, seed, expectTerminal) {
  const { app, logs, holder } = host
  holder.source = c.source
  holder.results.length = 0
  logs.length = 0
  const label = `seed ${seed}: ${c.name}`
  // The hang guard: a stream that never ends fails here instead of hanging the suite.
  const res = await injectEvents(app, '/', { timeoutMs: 3000 }).catch((err) => ({ hung: err }))
  if (res.hung) return t.fail(`${label}: the stream never ended`)
  if (c.outcome === 'http-error') {
    if (res.statusCode !== 500) return t.fail(`${label}: expected a 500 before the stream starts, got ${res.statusCode}`)
  } else {
    if (res.statusCode !== 200) return t.fail(`${label}: status ${res.statusCode}`)
    const types = res.events.map((e) => e.type)
    if ((c.itemsBefore ?? 1) > 0 && types[0] !== 'message') return t.fail(`${label}: the item before the failure is missing`, { types })
    const last = types[types.length - 1]
    if (c.outcome === 'stream-end') {
      if (last === 'error') return t.fail(`${label}: a clean end was expected`, { types })
    } else {
      if (expectTerminal && last !== 'error') return t.fail(`${label}: no terminal error event`, { types })
      if (!expectTerminal && last === 'error') return t.fail(`${label}: a terminal event that should not be there`, { types })
      if (holder.results[0]?.reason !== 'error') return t.fail(`${label}: reply.sse() settled with ${holder.results[0]?.reason}`)
      if (!logs.some((l) => l.level >= 50)) return t.fail(`${label}: the failure was not logged`)
    }
  }
  const ok = await app.inject('/ok')
  if (ok.statusCode !== 200) return t.fail(`${label}: the app stopped serving`)
  if (app.sse.openStreams !== 0) return t.fail(`${label}: ${app.sse.openStreams} streams left open`)
  await new Promise((resolve) => setImmediate(resolve))
  if (escaped.length) return t.fail(`${label}: ${escaped.splice(0).join(', ')} escaped`)
  return true
}

const VARIANTS = [
  ['default options', {}, {}, true],
  ['errorEvent that throws', { errorEvent: () => { throw trapAll() } }, {}, false],
  ['errorEvent that returns a Proxy item', { errorEvent: () => trapAll() }, {}, false],
  ['errorEvent: false', { errorEvent: false }, {}, false],
  ['a log serializer that throws', {}, { serializers: { err: () => { throw trapAll() } } }, true]
]

for (const [variant, pluginOptions, loggerOptions, expectTerminal] of VARIANTS) {
  test(`generated hostile producers, ${variant}: every stream ends, the failure is logged, nothing escapes`, async (t) => {
    const host = await hostApp(t, pluginOptions, loggerOptions)
    const seeds = 120
    let passed = 0
    for (let seed = 1; seed <= seeds; seed++) {
      const c = hostileProducer(rng(seed * 7919 + variant.length))
      // Fastify's own error handler logs pre-stream failures through the same serializer.
      if (loggerOptions.serializers && c.outcome === 'http-error') continue
      if (await runCase(t, host, c, seed, expectTerminal) !== true) return
      passed++
    }
    t.ok(passed > seeds / 2, `${passed} generated producers handled`)
  })
}

test('a longer random walk in the default setup reaches every producer shape', async (t) => {
  // The random walk above covers combinations; this covers each kind at least once.
  const host = await hostApp(t)
  const names = new Set()
  for (let seed = 1; seed <= 400; seed++) {
    const c = hostileProducer(rng(seed))
    if (await runCase(t, host, c, seed, true) !== true) return
    names.add(c.name.replace(/ with .*$/, '').replace(/^(a?sync) /, ''))
  }
  t.ok(names.size >= 20, `${names.size} distinct producer shapes`)
})

test('pushed streams: send() with hostile items throws an Error it can read, and the stream goes on', async (t) => {
  const host = await hostApp(t)
  const outcomes = []
  host.app.get('/push', (request, reply) => {
    const stream = reply.sse.open()
    const next = rng(Number(request.query.seed))
    for (let i = 0; i < 20; i++) {
      const { name, item } = hostileItem(next)
      try {
        stream.send(item)
        outcomes.push([name, 'accepted'])
      } catch (err) {
        outcomes.push([name, err instanceof Error && typeof err.message === 'string' ? 'error' : 'unreadable'])
      }
    }
    stream.send({ data: 'still open' })
    stream.close()
    return stream.done
  })
  for (let seed = 1; seed <= 30; seed++) {
    outcomes.length = 0
    const res = await injectEvents(host.app, `/push?seed=${seed}`, { timeoutMs: 3000 })
    t.same(res.events.map((e) => e.data).slice(-1), ['still open'], `seed ${seed}: the stream went on`)
    const unreadable = outcomes.filter(([, o]) => o === 'unreadable')
    t.same(unreadable, [], `seed ${seed}: every throw is an Error`)
  }
  t.equal((await host.app.inject('/ok')).statusCode, 200)
})

// The reported reproductions, each on its own.

test('a producer that yields then throws a null-prototype object: terminal error, logged, app serving', async (t) => {
  const host = await hostApp(t)
  const c = { name: 'null prototype', outcome: 'stream-error', source: async function * () { yield { data: 'a' }; throw Object.create(null) } }
  t.equal(await runCase(t, host, c, 0, true), true)
  t.equal(host.logs.find((l) => l.level >= 50).err.code, 'FST_SSE_PRODUCER')
})

test('a producer that throws an object whose toString is not a function', async (t) => {
  const host = await hostApp(t)
  const c = { name: 'toString "x"', outcome: 'stream-error', source: async function * () { yield { data: 'a' }; throw JSON.parse('{"toString":"x"}') } }
  t.equal(await runCase(t, host, c, 0, true), true)
})

test('an async iterator whose next() resolves to undefined', async (t) => {
  const host = await hostApp(t)
  let n = 0
  const c = {
    name: 'next() resolves undefined',
    outcome: 'stream-error',
    source: () => ({ [Symbol.asyncIterator]: () => ({ next: async () => n++ === 0 ? { done: false, value: { data: 'a' } } : undefined }) })
  }
  t.equal(await runCase(t, host, c, 0, true), true)
  t.match(host.logs.find((l) => l.level >= 50).err.message, /iterator result is undefined/)
})

test('an Error whose stack and message getters throw ends the stream with the terminal event', async (t) => {
  const host = await hostApp(t)
  const c = {
    name: 'throwing getters',
    outcome: 'stream-error',
    source: async function * () {
      yield { data: 'a' }
      const err = new Error('x')
      Object.defineProperty(err, 'stack', { get () { throw new Error('stack') } })
      Object.defineProperty(err, 'message', { get () { throw new Error('message') } })
      throw err
    }
  }
  t.equal(await runCase(t, host, c, 0, true), true)
})

test('a sync iterator whose next() returns undefined, or throws a null-prototype object', async (t) => {
  const host = await hostApp(t)
  for (const [name, next] of [['returns undefined', () => undefined], ['throws null-prototype', () => { throw Object.create(null) }]]) {
    let n = 0
    const c = {
      name,
      outcome: 'stream-error',
      source: () => ({ [Symbol.iterator]: () => ({ next: () => n++ === 0 ? { done: false, value: { data: 'a' } } : next() }) })
    }
    t.equal(await runCase(t, host, c, 0, true), true, name)
  }
})

test('a producer of nothing but empty items does not hold the event loop: the client leaving still ends it', async (t) => {
  const host = await hostApp(t)
  let pulled = 0
  let returned = false
  host.holder.source = () => ({
    [Symbol.iterator]: () => ({
      next: () => { pulled++; return { done: false, value: {} } },
      return: () => { returned = true; return { done: true } }
    })
  })
  const res = await injectEvents(host.app, '/', { timeoutMs: 200 }).catch((err) => err)
  t.match(res.message, /injectEvents: 0 of Infinity events/, 'the client gave up and left')
  t.equal(res.code, 'FST_SSE_INJECT_TIMEOUT')
  await new Promise((resolve) => setImmediate(resolve))
  t.ok(returned, `return() ran after ${pulled} empty items`)
  t.equal(host.holder.results[0]?.reason, 'client')
})
