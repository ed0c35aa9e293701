// Registry driven directly: the one shared timer (its period, and that it runs only while a
// stream is open), heartbeats and stalls across streams, deadlines, caps and shutdown order,
// with a clock and a timer the test moves by hand.
import { test } from 'tap'
import { Connection, Registry, kPlan } from './lib.mjs'
import { FakeResponse, fakeClock, flushed, manualTimer } from './fakes.mjs'

const RECONNECT = 'retry: 250\n\n'

function registry (overrides = {}) {
  const clock = fakeClock()
  const timer = manualTimer()
  const options = {
    heartbeatMs: 100,
    stallTimeoutMs: 0,
    maxStreams: Infinity,
    maxStreamsPerKey: Infinity,
    maxBufferedBytes: 1024 * 1024,
    reconnectFrame: RECONNECT,
    limitFrame: () => 'retry: 5000\n\n',
    now: clock.now,
    every: timer.every,
    ...overrides
  }
  const reg = new Registry(options)
  const open = (plan, resOptions) => {
    const res = new FakeResponse(resOptions)
    const conn = new Connection(res, options, clock.now())
    reg.add(conn, plan === undefined ? undefined : { [kPlan]: plan })
    return { res, conn }
  }
  return { reg, clock, timer, open }
}

test('the shared timer: half the shortest interval, one for all streams, only while one is open', async (t) => {
  const { timer, open } = registry({ heartbeatMs: 100, stallTimeoutMs: 60 })
  t.equal(timer.started, 0, 'no timer before a stream')
  const a = open()
  const b = open()
  t.equal(timer.started, 1, 'one timer for two streams')
  t.equal(timer.periodMs, 30, 'half of the shorter of heartbeat and stall timeout')
  a.conn.end('end')
  t.ok(timer.running, 'still running while a stream is open')
  b.res.gone()
  t.notOk(timer.running, 'stopped with the last stream')
  open()
  t.equal(timer.started, 2, 'started again by the next stream')
  const busy = registry({ heartbeatMs: 4, stallTimeoutMs: 0 })
  busy.open()
  t.equal(busy.timer.periodMs, 5, 'never busier than every 5 ms')
  const quiet = registry({ heartbeatMs: 0, stallTimeoutMs: 0 })
  quiet.open()
  t.equal(quiet.timer.started, 0, 'no heartbeats, no stall checks, no deadline: no timer at all')
})

test('one tick serves every stream: heartbeats for the silent, none for the busy', async (t) => {
  const { clock, timer, open } = registry({ heartbeatMs: 100 })
  const silent = open()
  const busy = open()
  for (let i = 0; i < 10; i++) {
    busy.conn.write(`data: ${i}\n\n`)
    await flushed()
    busy.res.take()
    silent.res.take()
    clock.advance(50)
    timer.fire()
  }
  await flushed()
  t.equal(busy.res.heartbeats, 0, 'a stream written to between ticks gets none')
  t.equal(silent.res.heartbeats, 5, 'a silent one gets one per heartbeatMs (500 ms, 100 ms apart)')
})

test('a stall is detected by the shared tick, and the registry counts it and frees the slot', async (t) => {
  const { reg, clock, timer, open } = registry({ heartbeatMs: 0, stallTimeoutMs: 200 })
  const { res, conn } = open({ limitKey: 'u1', lifetimeMs: 0, expiresAt: Infinity }, { highWaterMark: 10 })
  conn.write('data: more than the client takes\n\n')
  await flushed()
  timer.fire()
  clock.advance(199)
  timer.fire()
  t.equal(conn.closed, false)
  clock.advance(1)
  timer.fire()
  t.equal(conn.reason, 'stalled')
  t.ok(res.destroyed)
  t.equal(reg.size, 0)
  t.equal(reg.metrics().streamsEnded.stalled, 1)
  t.equal(reg.metrics().limitKeys, 0, 'the per-key slot was given back')
  t.notOk(timer.running)
})

test('lifetime and expiry end a stream with the reconnect block, at their clock time exactly', async (t) => {
  const { reg, clock, timer, open } = registry({ heartbeatMs: 0 })
  const lived = open({ limitKey: undefined, lifetimeMs: 1000, expiresAt: Infinity })
  const expiring = open({ limitKey: undefined, lifetimeMs: 1000, expiresAt: clock.now() + 400 })
  const plain = open()
  t.equal(timer.periodMs, 1000, 'deadlines alone run the timer once a second')
  clock.advance(399)
  timer.fire()
  t.equal(expiring.conn.closed, false, 'before expiresAt: open')
  clock.advance(1)
  timer.fire()
  t.equal(expiring.conn.reason, 'expired', 'the earlier of lifetime and expiry wins')
  t.ok(expiring.res.text.endsWith(RECONNECT))
  clock.advance(599)
  timer.fire()
  t.equal(lived.conn.closed, false)
  clock.advance(1)
  timer.fire()
  t.equal(lived.conn.reason, 'lifetime')
  t.ok(lived.res.ended && lived.res.text.endsWith(RECONNECT), 'ended normally, with the reconnect block last')
  reg.expire(plain.conn, clock.now() + 50)
  clock.advance(50)
  timer.fire()
  t.equal(plain.conn.reason, 'expired', 'expire() arms a deadline on a stream opened without one')
  t.same(reg.metrics().streamsEnded, { end: 0, client: 0, error: 0, shutdown: 0, stalled: 0, overflow: 0, lifetime: 1, expired: 2, limit: 0, budget: 0 })
})

test('expire() only ever brings a deadline forward', async (t) => {
  const { reg, clock, timer, open } = registry({ heartbeatMs: 0 })
  const { conn } = open({ limitKey: undefined, lifetimeMs: 1000, expiresAt: Infinity })
  reg.expire(conn, clock.now() + 5000)
  clock.advance(1000)
  timer.fire()
  t.equal(conn.reason, 'lifetime', 'a later expiry does not extend the lifetime')
  reg.expire(conn, clock.now())
  t.pass('expiring an ended stream is a no-op')
})

test('caps: over maxStreams or maxStreamsPerKey ends with the limit block and takes no slot', async (t) => {
  const { reg, open } = registry({ maxStreams: 2, maxStreamsPerKey: 1 })
  const plan = (limitKey) => ({ limitKey, lifetimeMs: 0, expiresAt: Infinity })
  const a = open(plan('ann'))
  const a2 = open(plan('ann'))
  t.equal(a2.conn.reason, 'limit', 'a second stream for one key is refused')
  t.match(a2.res.text, /^retry: 5000\n\n$/)
  const b = open(plan('bob'))
  const c = open(plan('cy'))
  t.equal(c.conn.reason, 'limit', 'the third stream overall is refused')
  t.equal(b.conn.closed, false)
  a.res.gone()
  const again = open(plan('cy'))
  t.equal(again.conn.closed, false, 'a slot given back is taken again')
  t.equal(reg.metrics().streamsEnded.limit, 2)
  t.equal(reg.metrics().streamsOpened, 5)
})

test('shutdown: every stream gets the last block then ends, and the timer stops with them', async (t) => {
  const { reg, timer, open } = registry()
  const order = []
  const streams = Array.from({ length: 3 }, () => open())
  for (const [i, s] of streams.entries()) {
    s.conn.write(`data: pending ${i}\n\n`)
    s.conn.onEnd({ connectionEnded: (conn) => order.push([i, conn.reason, s.res.text]) })
  }
  reg.endAll('shutdown', 'event: shutdown\ndata: bye\n\n')
  t.same(order, streams.map((s, i) => [i, 'shutdown', `data: pending ${i}\n\nevent: shutdown\ndata: bye\n\n`]),
    'each stream: its pending data, then the shutdown block, before its end listeners run')
  t.ok(streams.every((s) => s.res.ended && !s.res.destroyed), 'ended cleanly, not destroyed')
  t.equal(reg.size, 0)
  t.notOk(timer.running)
  const late = open()
  t.equal(late.conn.closed, false, 'the registry itself does not refuse later streams (the plugin does)')
})
