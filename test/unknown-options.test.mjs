// A misspelt option name must fail at start-up with the coded error of its options object
// (FST_SSE_INVALID_OPTION for register(), FST_SSE_INVALID_ROUTE_OPTION for a route's `sse`, …), naming the
// option and the known one it is closest to, on every options object the package takes:
// register(), a route's `sse`, fastify.sse.stream() (and its `replay`), subscribe(),
// memoryStore() and redisStore(). Typos are generated: case changes, dropped, doubled,
// swapped and replaced letters.
import { test } from 'tap'
import Fastify from 'fastify'
import sse, { memoryStore, redisStore } from 'fastify-typed-sse'
import { build } from './helpers/app.mjs'
import { rng, pick } from './helpers/rng.mjs'

const PLUGIN = ['heartbeatMs', 'retryMs', 'stallTimeoutMs', 'maxBufferedBytes', 'maxEventBytes', 'serializer', 'errorEvent',
  'shutdownEvent', 'lastEventIdQuery', 'maxLastEventIdLength', 'store', 'maxConnectionMs', 'reconnectMs',
  'maxStreams', 'maxStreamsPerKey', 'streamKey', 'limitRetryMs', 'now']
const ROUTE = ['events', 'validate', 'serialize', 'onInvalid', 'alternative', 'maxConnectionMs']
const STREAM = ['events', 'validate', 'serialize', 'onInvalid', 'replay', 'resetEvent', 'key']
const MEMORY = ['maxEvents', 'maxBytes', 'maxAgeMs', 'maxStreams', 'maxTotalBytes', 'idleTtlMs', 'idempotencyTtlMs', 'now']
const REDIS = ['prefix', 'maxEvents', 'maxAgeMs', 'streamTtlMs', 'metaTtlMs', 'idempotencyTtlMs', 'appendTimeoutMs',
  'readTimeoutMs', 'readCount', 'lingerMs', 'positionCheckMs', 'rotateEpochOnServerChange', 'maxQueuedItems', 'onError']

const LETTERS = 'abcdefghijklmnopqrstuvwxyzMS'

/** One random edit of `name` that yields a different string. */
function typo (next, name) {
  for (;;) {
    const i = Math.floor(next() * name.length)
    let out
    switch (Math.floor(next() * 5)) {
      case 0: out = name.slice(0, i) + name.slice(i + 1); break // dropped
      case 1: out = name.slice(0, i) + name[i] + name.slice(i); break // doubled
      case 2: out = i + 1 < name.length ? name.slice(0, i) + name[i + 1] + name[i] + name.slice(i + 2) : name + 's'; break // swapped
      case 3: out = name.slice(0, i) + pick(next, [...LETTERS]) + name.slice(i + 1); break // replaced
      default: out = name.replace(/Ms$/, 'MS').replace(/^./, (c) => c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()) // case
    }
    if (out !== name && out !== '') return out
  }
}

function assertRefused (t, fn, typoName, known, where, code) {
  let error
  try {
    fn()
  } catch (err) {
    error = err
  }
  t.equal(error?.code, code, `${where}: ${typoName} is refused`)
  if (error === undefined) return
  t.match(error.message, JSON.stringify(typoName), `${where}: the message names ${typoName}`)
  // The suggestion is the nearest known name; for a one-edit typo it is never farther than
  // the name the typo came from, so it is either that name or one just as close.
  const suggested = /did you mean "([^"]+)"/.exec(error.message)?.[1]
  t.ok(known.includes(suggested), `${where}: suggests a known name (${suggested})`)
  return suggested
}

test('the exact typos of the report are refused with the right suggestion', async (t) => {
  for (const [options, name, nearest] of [
    [{ maxConnectionMS: 600 }, 'maxConnectionMS', 'maxConnectionMs'],
    [{ heartbeatMS: 5000 }, 'heartbeatMS', 'heartbeatMs'],
    [{ heartBeatMs: 5000 }, 'heartBeatMs', 'heartbeatMs']
  ]) {
    const app = Fastify()
    const err = await app.register(sse, options).ready().then(() => undefined, (e) => e)
    t.equal(err?.code, 'FST_SSE_INVALID_OPTION')
    t.match(err?.message, `unknown option "${name}" (did you mean "${nearest}"?)`)
    await app.close()
  }
})

test('generated typos of every plugin option are refused, and usually point back at it', async (t) => {
  const next = rng(0x5eed1)
  let exact = 0
  let total = 0
  for (let i = 0; i < 300; i++) {
    const name = pick(next, PLUGIN)
    const bad = typo(next, name)
    if (PLUGIN.includes(bad)) continue
    total++
    // register() runs resolveOptions synchronously inside the plugin: check through Fastify.
    const app = Fastify()
    const err = await app.register(sse, { [bad]: 1 }).ready().then(() => undefined, (e) => e)
    await app.close()
    t.equal(err?.code, 'FST_SSE_INVALID_OPTION', `register: ${bad}`)
    const suggested = /did you mean "([^"]+)"/.exec(err?.message ?? '')?.[1]
    if (suggested === name) exact++
    else t.ok(PLUGIN.includes(suggested), `${bad}: suggests ${suggested}, a known name`)
  }
  // One edit from a name is at distance 1; another name that close is rare among these.
  t.ok(exact / total > 0.95, `the original name is suggested for ${exact} of ${total} typos`)
})

test('generated typos are refused on route, stream, replay, subscribe and store options', async (t) => {
  const next = rng(0x5eed2)
  const app = await build(t)
  for (let i = 0; i < 60; i++) {
    const r = typo(next, pick(next, ROUTE))
    if (!ROUTE.includes(r)) {
      const err = await new Promise((resolve) => {
        const child = Fastify()
        child.register(sse).after(() => {
          try {
            child.get('/x', { sse: { [r]: true } }, async () => {})
            resolve(undefined)
          } catch (e) {
            resolve(e)
          }
        })
        child.ready().then(() => child.close(), (e) => { resolve(e); return child.close() })
      })
      t.equal(err?.code, 'FST_SSE_INVALID_ROUTE_OPTION', `route sse: ${r}`)
      t.match(err?.message, /^Invalid sse option of route GET \/x: unknown option/)
    }
    const s = typo(next, pick(next, STREAM))
    if (!STREAM.includes(s)) assertRefused(t, () => app.sse.stream('s' + i, { [s]: 1 }), s, STREAM, 'stream', 'FST_SSE_INVALID_STREAM_OPTION')
    const rp = typo(next, 'maxReplay')
    assertRefused(t, () => app.sse.stream('r' + i, { replay: { [rp]: 1 } }), rp, ['maxReplay', 'maxEvents', 'maxBytes', 'maxAgeMs'], 'replay', 'FST_SSE_INVALID_STREAM_OPTION')
    const m = typo(next, pick(next, MEMORY))
    if (!MEMORY.includes(m)) assertRefused(t, () => memoryStore({ [m]: 1 }), m, MEMORY, 'memoryStore', 'FST_SSE_INVALID_STORE_OPTION')
    const rd = typo(next, pick(next, REDIS))
    if (!REDIS.includes(rd) && rd !== 'client') assertRefused(t, () => redisStore({ client: {}, [rd]: 1 }), rd, [...REDIS, 'client'], 'redisStore', 'FST_SSE_INVALID_STORE_OPTION')
  }
})

test('subscribe() refuses a misspelt option before any byte is sent', async (t) => {
  const app = await build(t)
  app.get('/s', (request, reply) => reply.sse.subscribe('feed', { onRest: () => {} }))
  const res = await app.inject('/s')
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'FST_SSE_INVALID_SUBSCRIBE_OPTION')
  t.match(res.json().message, 'unknown option "onRest" (did you mean "onReset"?)')
})

test('hostile option names: huge, non-ASCII, empty; refused quickly with a bounded message', async (t) => {
  for (const name of ['x'.repeat(1_000_000), '', '\u0000', '😀'.repeat(50), '__proto__x', 'constructor']) {
    const started = performance.now()
    let err
    try {
      memoryStore({ [name]: 1 })
    } catch (e) {
      err = e
    }
    t.equal(err?.code, 'FST_SSE_INVALID_STORE_OPTION')
    t.ok(err.message.length < 400, 'message stays short')
    t.ok(performance.now() - started < 1000, 'no quadratic work on a huge name')
  }
  // Known names with extra inherited properties do not count: only own keys are options.
  const proto = { heartbeatMx: 1 }
  const options = Object.create(proto)
  options.heartbeatMs = 100
  const app = Fastify()
  await app.register(sse, options)
  await app.close()
})

test('Fastify\'s own register options pass', async (t) => {
  const app = Fastify()
  await app.register(sse, { prefix: '/x', logLevel: 'warn', heartbeatMs: 100 })
  await app.ready()
  await app.close()
  t.pass('registered')
})
