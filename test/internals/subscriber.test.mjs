// Subscriber and Hub driven directly over a real memory store: the races between a publish and
// an attach, a publish landing while onReset runs, the bound on what waits for a subscriber
// being positioned, a broken store subscription and shutdown order. Each race is staged by
// holding a store call until the test releases it, never by timing.
import { test } from 'tap'
import { Connection, Counters, Hub, Registry, Subscriber, Topics, memoryStore } from './lib.mjs'
import { FakeResponse, deferred, manualTimer, settled } from './fakes.mjs'
import { decodeEvents } from 'fastify-typed-sse/testing'
import { trapAll } from '../helpers/hostile.mjs'

const ABSENT = { status: 'absent' }

/** A memory store whose calls can be held: `hold('head')` makes the next head() wait for release(). */
function gatedStore (inner = memoryStore()) {
  const held = {}
  const calls = { head: 0, subscribe: 0, readAfter: 0, closed: 0 }
  const gate = (name, fn) => async (...args) => {
    calls[name]++
    const h = held[name]
    if (h !== undefined) {
      delete held[name]
      h.reached.resolve()
      await h.released.promise
    }
    return fn(...args)
  }
  const store = {
    capabilities: inner.capabilities,
    append: (...args) => inner.append(...args),
    head: gate('head', (...args) => inner.head(...args)),
    readAfter: gate('readAfter', (...args) => inner.readAfter(...args)),
    subscribe: gate('subscribe', async (...args) => {
      const live = await inner.subscribe(...args)
      const close = live.close.bind(live)
      live.close = async () => { calls.closed++; await close() }
      return live
    }),
    close: () => inner.close()
  }
  /** Holds the next call of `name`; resolves `reached` when it is made, waits for `release()`. */
  const hold = (name) => {
    const h = { reached: deferred(), released: deferred() }
    held[name] = h
    return { reached: h.reached.promise, release: () => h.released.resolve() }
  }
  return { store, calls, hold, inner }
}

function setup ({ store = gatedStore(), maxBufferedBytes = 1024 * 1024, stream = {}, log: given } = {}) {
  const timer = manualTimer()
  const options = { heartbeatMs: 0, stallTimeoutMs: 0, maxStreams: Infinity, maxStreamsPerKey: Infinity, maxBufferedBytes, reconnectFrame: '', limitFrame: () => '', now: () => 0, every: timer.every }
  const registry = new Registry(options)
  const counters = new Counters()
  const logged = []
  const log = given ?? { error: (o, m) => logged.push(['error', m]), warn: (o, m) => logged.push(['warn', m]) }
  const hub = new Hub(store.store, counters, log)
  const deps = { hub, store: store.store, counters, log, maxBufferedBytes }
  const channel = new Topics({ store: store.store, counters, serializer: (d) => JSON.stringify(d), maxEventBytes: 1024 * 1024 }).declare('s', stream)
  const connect = ({ cursor = ABSENT, head = null, extras = null, resOptions } = {}) => {
    const res = new FakeResponse(resOptions)
    const conn = new Connection(res, options, 0)
    registry.add(conn)
    const subscriber = new Subscriber(conn, deps, extras)
    conn.onEnd(subscriber)
    const started = subscriber.start(channel, 's', cursor, head)
    return { res, conn, subscriber, started, events: () => decodeEvents(res.text) }
  }
  const publish = (i) => channel.publish({ event: 'tick', data: { i } })
  return { store, registry, counters, hub, channel, connect, publish, logged }
}

const numbers = (client) => client.events().filter((e) => e.type === 'tick').map((e) => JSON.parse(e.data).i)

test('a publish between accepting the request and attaching reaches the client once, in order', async (t) => {
  const s = setup()
  await s.publish(1)
  const head = await s.store.inner.head('s') // read when the request was accepted
  const attach = s.store.hold('subscribe')
  const client = s.connect({ head: Promise.resolve(head) })
  await attach.reached
  await s.publish(2) // lands before live delivery is attached
  attach.release()
  await client.started
  await settled()
  t.same(numbers(client), [2], 'the event published meanwhile arrives without waiting for a later one')
  await s.publish(3)
  await settled()
  t.same(numbers(client), [2, 3], 'then live; nothing twice, nothing before the head')
  t.match(client.res.text, new RegExp(`^id: ${head}\n\n`), 'the id-only block carries the head read at accept time')
  t.equal(s.hub.subscribers, 1, 'counted once live')
})

test('a publish after attaching but before positioning waits, and is not sent twice', async (t) => {
  const s = setup()
  const current = s.store.hold('head') // the head read that decides whether to catch up
  const client = s.connect({ head: s.store.inner.head('s') })
  await current.reached
  await s.publish(1) // delivered live while the subscriber is still being positioned
  await s.publish(2)
  t.equal(s.hub.subscribers, 0, 'not counted while positioning')
  current.release()
  await client.started
  await settled()
  t.same(numbers(client), [1, 2], 'caught up from the store, and the held live copies dropped as duplicates')
  await s.publish(3)
  await settled()
  t.same(numbers(client), [1, 2, 3])
})

test('a publish while onReset runs follows the snapshot, once', async (t) => {
  const s = setup()
  await s.publish(1)
  const inHook = deferred()
  const leave = deferred()
  const extras = {
    filter: null,
    reply: { request: {}, log: { error () {} } },
    onReset: async ({ send }) => {
      inHook.resolve()
      await leave.promise
      send({ event: 'snapshot', data: { all: true } })
    }
  }
  const client = s.connect({ cursor: { status: 'ok', value: 'zzzzzzzz:1' }, extras })
  await inHook.promise
  await s.publish(2)
  leave.resolve()
  await client.started
  await settled()
  t.same(client.events().map((e) => e.type), ['reset', 'snapshot', 'tick'])
  t.same(numbers(client), [2])
  t.equal(s.counters.resets.epoch, 1)
})

test('what waits for a subscriber being positioned is bounded by maxBufferedBytes', async (t) => {
  const s = setup({ maxBufferedBytes: 4096 })
  const current = s.store.hold('head')
  const client = s.connect({ head: s.store.inner.head('s') })
  await current.reached
  for (let i = 0; i < 10 && !client.conn.closed; i++) await s.channel.publish({ event: 'tick', data: { i, pad: 'p'.repeat(1000) } })
  t.equal(client.conn.reason, 'overflow', 'dropped (it reconnects and resumes) instead of holding the backlog')
  current.release()
  await client.started
  t.equal(s.hub.feeds.size, 0, 'its feed was released')
  t.equal(s.store.calls.closed, 1, 'and the store subscription closed')
})

test('a slow subscriber is evicted by its own bound and never delays the others', async (t) => {
  const s = setup({ maxBufferedBytes: 8 * 1024 })
  const slow = s.connect({ resOptions: { highWaterMark: 1024 } })
  const healthy = s.connect()
  await Promise.all([slow.started, healthy.started])
  for (let i = 1; i <= 50; i++) {
    await s.channel.publish({ event: 'tick', data: { i, pad: 'q'.repeat(500) } })
    await settled()
    healthy.res.take()
  }
  t.equal(slow.conn.reason, 'overflow')
  t.equal(s.counters.evictions, 1)
  t.same(numbers(healthy), Array.from({ length: 50 }, (_, i) => i + 1), 'the healthy one got everything, in order')
  t.equal(s.hub.subscribers, 1)
})

test('a store subscription that breaks disconnects its subscribers; the next attach starts afresh', async (t) => {
  const inner = memoryStore()
  const store = gatedStore(inner)
  let fail
  const broken = store.store.subscribe
  store.store.subscribe = async (key) => {
    const live = await broken(key)
    return {
      close: () => live.close(),
      async * [Symbol.asyncIterator] () {
        await new Promise((resolve, reject) => { fail = reject })
      }
    }
  }
  const s = setup({ store })
  const a = s.connect()
  const b = s.connect()
  await Promise.all([a.started, b.started])
  fail(new Error('connection lost'))
  await settled()
  t.equal(a.conn.reason, 'error')
  t.equal(b.conn.reason, 'error')
  t.equal(s.counters.storeErrors, 1, 'one failure, counted once')
  t.same(s.logged.map(([level]) => level), ['error'])
  t.equal(s.hub.feeds.size, 0)
  t.equal(s.hub.subscribers, 0)
  const again = s.connect()
  await again.started
  t.equal(s.store.calls.subscribe, 2, 'a fresh store subscription')
  t.equal(again.conn.closed, false)
})

test('a logger that throws stops nothing: a filter that throws, a broken store subscription', async (t) => {
  // Every log call throws a value whose every property access throws too.
  const thrower = () => { throw trapAll() }
  const log = { error: thrower, warn: thrower, debug: thrower, info: thrower }
  const inner = memoryStore()
  const store = gatedStore(inner)
  let fail
  const subscribe = store.store.subscribe
  store.store.subscribe = async (key) => {
    const live = await subscribe(key)
    const broken = new Promise((resolve, reject) => { fail = reject })
    return {
      close: () => live.close(),
      async * [Symbol.asyncIterator] () {
        for await (const item of live) {
          yield item
          if (item.type === 'event' && item.event.offset === 2) await broken
        }
      }
    }
  }
  const s = setup({ store, log })
  const filtered = s.connect({ extras: { filter: () => { throw trapAll() }, onReset: null, reply: null } })
  const plain = s.connect()
  await Promise.all([filtered.started, plain.started])
  await s.publish(1)
  await s.publish(2)
  await settled()
  t.same(numbers(plain), [1, 2], 'the subscriber after the one whose filter threw got every event')
  t.same(numbers(filtered), [], 'a filter that throws withholds the event')
  t.equal(filtered.conn.closed, false, 'and keeps the connection')
  fail(trapAll())
  await settled()
  t.equal(filtered.conn.reason, 'error', 'a broken store subscription still disconnects')
  t.equal(plain.conn.reason, 'error')
  t.equal(s.hub.feeds.size, 0)
})

test('shutdown: streams end first, then the hub closes every store subscription', async (t) => {
  const s = setup()
  const clients = [s.connect(), s.connect()]
  await Promise.all(clients.map((c) => c.started))
  const positioning = s.store.hold('head')
  const late = s.connect({ head: s.store.inner.head('s') })
  await positioning.reached
  s.registry.endAll('shutdown', 'event: shutdown\ndata: bye\n\n')
  t.ok(clients.every((c) => c.conn.reason === 'shutdown' && c.res.text.endsWith('event: shutdown\ndata: bye\n\n')))
  t.equal(late.conn.reason, 'shutdown', 'a subscriber still being positioned ends too')
  positioning.release()
  await late.started
  t.ok(late.res.text.endsWith('event: shutdown\ndata: bye\n\n'), 'nothing is written after its end')
  await s.hub.close()
  t.equal(s.hub.feeds.size, 0)
  t.equal(s.store.calls.closed, 1, 'the one store subscription of the key was closed')
  t.equal(s.hub.subscribers, 0)
  t.equal(s.registry.size, 0)
})
