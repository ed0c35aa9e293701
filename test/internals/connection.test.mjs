// Connection driven directly: heartbeats, stall detection, overflow and every way a stream
// ends, with time moving only when the test moves the clock. Nothing here waits for a duration.
import { test } from 'tap'
import { Connection } from './lib.mjs'
import { FakeResponse, fakeClock, flushed } from './fakes.mjs'

const limits = (overrides = {}) => ({ heartbeatMs: 100, stallTimeoutMs: 0, maxBufferedBytes: 1024 * 1024, ...overrides })

function open (overrides, resOptions) {
  const clock = fakeClock()
  const res = new FakeResponse(resOptions)
  const conn = new Connection(res, limits(overrides), clock.now())
  return { clock, res, conn }
}

test('a heartbeat goes out after exactly heartbeatMs of silence, then every heartbeatMs', async (t) => {
  const { clock, res, conn } = open({ heartbeatMs: 100 })
  conn.tick(clock.advance(99))
  await flushed()
  t.equal(res.heartbeats, 0, '99 ms of silence: none')
  conn.tick(clock.advance(1))
  await flushed()
  t.equal(res.heartbeats, 1, '100 ms: one')
  res.take()
  conn.tick(clock.advance(99))
  await flushed()
  t.equal(res.heartbeats, 1, 'the next one counts from the last')
  conn.tick(clock.advance(1))
  await flushed()
  t.equal(res.heartbeats, 2)
  t.equal(conn.events, 0, 'heartbeats are not counted as events')
})

test('no heartbeat while events keep flowing: each write restarts the silence', async (t) => {
  const { clock, res, conn } = open({ heartbeatMs: 100 })
  for (let i = 0; i < 20; i++) {
    conn.write(`data: ${i}\n\n`)
    await flushed()
    res.take()
    conn.tick(clock.advance(60))
  }
  t.equal(res.heartbeats, 0, '20 events 60 ms apart (1.2 s) with heartbeatMs 100: no heartbeat')
  conn.tick(clock.advance(99))
  await flushed()
  t.equal(res.heartbeats, 0, 'silence counts from the tick that saw the last write')
  conn.tick(clock.advance(1))
  await flushed()
  t.equal(res.heartbeats, 1, 'then silence is filled')
  t.equal(conn.events, 20)
})

test('heartbeatMs 0: no heartbeat however long the silence', async (t) => {
  const { clock, res, conn } = open({ heartbeatMs: 0 })
  for (let i = 0; i < 100; i++) conn.tick(clock.advance(3_600_000))
  await flushed()
  t.equal(res.text, '', 'a hundred hours of ticks wrote nothing')
})

test('a heartbeat is never written on top of pending data or inside a batch', async (t) => {
  const { clock, res, conn } = open({ heartbeatMs: 100 })
  conn.write('data: a\ndata: b\n\n')
  await flushed()
  conn.tick(clock.advance(1))
  // The client has not read the event yet: its bytes are still queued.
  conn.tick(clock.advance(500))
  await flushed()
  t.equal(res.heartbeats, 0, 'not while the client has queued data')
  res.take()
  conn.tick(clock.advance(1))
  await flushed()
  t.equal(res.heartbeats, 1, 'once the queue is empty, the silence is filled')
  t.equal(res.text, 'data: a\ndata: b\n\n:\n\n', 'the heartbeat sits between blocks')
})

test('blocks written in one tick leave in one write; a full batch leaves at once', async (t) => {
  const { res, conn } = open()
  t.equal(conn.write('data: 1\n\n'), true)
  t.equal(conn.write('data: 2\n\n'), true)
  t.equal(res.chunks.length, 0, 'nothing written before the end of the tick')
  await flushed()
  t.same(res.chunks, ['data: 1\n\ndata: 2\n\n'], 'one chunk for the burst')
  const big = 'data: ' + 'x'.repeat(40 * 1024) + '\n\n'
  conn.write(big)
  t.equal(res.chunks.length, 2, 'a batch past 32 KiB is written without waiting for the tick')
})

test('stall: a client that stops reading is dropped exactly stallTimeoutMs after writes were refused', async (t) => {
  const { clock, res, conn } = open({ heartbeatMs: 0, stallTimeoutMs: 1000 }, { highWaterMark: 10 })
  const ends = []
  conn.onEnd({ connectionEnded: (c) => ends.push(c.reason) })
  t.equal(conn.write('data: refused by a full queue\n\n'), true)
  await flushed()
  t.equal(conn.flush(), false, 'the queue is full: not writable')
  let writable = false
  conn.whenWritable().then(() => { writable = true })
  conn.tick(clock.now()) // the first tick stamps the block with the shared clock
  conn.tick(clock.advance(999))
  t.equal(conn.closed, false, '999 ms blocked: kept')
  conn.tick(clock.advance(1))
  t.equal(conn.reason, 'stalled', '1000 ms blocked: dropped')
  t.ok(res.destroyed, 'the socket is destroyed, not ended')
  t.same(ends, ['stalled'], 'end listeners ran once')
  await flushed()
  t.ok(writable, 'a writer waiting for room is released')
  t.ok(conn.signal.aborted)
})

test('stall: progress, not an empty queue, keeps a slow reader', async (t) => {
  const { clock, res, conn } = open({ heartbeatMs: 0, stallTimeoutMs: 1000 }, { highWaterMark: 100 })
  conn.write('data: ' + 'z'.repeat(200) + '\n\n')
  await flushed()
  conn.tick(clock.now())
  for (let step = 0; step < 10; step++) {
    res.take(10) // reads a little: the queue shrinks but never empties
    conn.tick(clock.advance(900))
    conn.tick(clock.advance(900))
    t.equal(conn.closed, false, `step ${step}: reading slowly for 1.8 s is not a stall`)
  }
  conn.tick(clock.advance(1000))
  t.equal(conn.reason, 'stalled', 'a full timeout without progress is')
})

test('stall: a client that drains is no longer blocked; stallTimeoutMs 0 never drops', async (t) => {
  const { clock, res, conn } = open({ heartbeatMs: 0, stallTimeoutMs: 1000 }, { highWaterMark: 10 })
  conn.write('data: 0123456789\n\n')
  await flushed()
  conn.tick(clock.now())
  const writable = conn.whenWritable()
  res.take()
  await writable
  conn.tick(clock.advance(5000))
  t.equal(conn.closed, false, 'drained: the stall clock stopped')
  const off = open({ heartbeatMs: 0, stallTimeoutMs: 0 }, { highWaterMark: 10 })
  off.conn.write('data: 0123456789\n\n')
  await flushed()
  off.conn.tick(off.clock.now())
  off.conn.tick(off.clock.advance(3_600_000))
  t.equal(off.conn.closed, false, 'stallTimeoutMs 0: kept however long')
})

test('push() drops a client with more than maxBufferedBytes waiting, write() does not', async (t) => {
  const { res, conn } = open({ maxBufferedBytes: 100 })
  t.equal(conn.push('data: ' + 'a'.repeat(50) + '\n\n'), true)
  t.equal(conn.write('data: ' + 'b'.repeat(200) + '\n\n'), true, 'write() queues past the bound (its caller waits for room)')
  await flushed()
  t.equal(conn.queued, res.writableLength)
  t.equal(conn.push('data: c\n\n'), false, 'push() past the bound is refused')
  t.equal(conn.reason, 'overflow')
  t.ok(res.destroyed)
  t.equal(conn.write('data: late\n\n'), false, 'nothing is written after the end')
  t.equal(conn.push('data: late\n\n'), false)
})

test('every way a stream ends settles it once, with the first reason', async (t) => {
  for (const [how, act, expected] of [
    ['client leaves', ({ res }) => res.gone(), 'client'],
    ['end', ({ conn }) => conn.end('end', 'event: bye\ndata: \n\n'), 'end'],
    ['shutdown', ({ conn }) => conn.end('shutdown'), 'shutdown'],
    ['destroy', ({ conn }) => conn.destroy('overflow'), 'overflow']
  ]) {
    const c = open()
    const reasons = []
    const listener = (name) => ({ connectionEnded: (conn) => reasons.push([name, conn.reason]) })
    c.conn.onEnd(listener('first'))
    c.conn.onEnd(listener('second'))
    c.conn.onEnd(listener('third'))
    const signal = c.conn.signal
    act(c)
    c.conn.end('end')
    c.conn.destroy('stalled')
    c.res.gone()
    t.same(reasons, [['first', expected], ['second', expected], ['third', expected]], `${how}: each listener once, in the order added`)
    t.equal(c.conn.reason, expected, `${how}: the first reason wins`)
    t.ok(signal.aborted, `${how}: the signal is aborted`)
    const late = []
    c.conn.onEnd({ connectionEnded: (conn) => late.push(conn.reason) })
    t.same(late, [expected], `${how}: a listener added after the end runs at once`)
    t.equal(c.res.listenerCount('close'), 0, `${how}: no listener left on the response`)
    t.equal(c.res.listenerCount('drain'), 0)
  }
})

test('end() sends the last block before ending; a signal asked for after the end is already aborted', async (t) => {
  const { res, conn } = open()
  conn.write('data: 1\n\n')
  conn.end('shutdown', 'event: shutdown\ndata: bye\n\n')
  t.same(res.chunks, ['data: 1\n\nevent: shutdown\ndata: bye\n\n'], 'pending and last block in one write')
  t.ok(res.ended)
  await flushed()
  t.equal(res.chunks.length, 1, 'the scheduled flush writes nothing more')
  t.ok(conn.signal.aborted)
})

test('every connection written in one tick is flushed at its end, each in one write, whatever one response throws', async (t) => {
  const opened = Array.from({ length: 50 }, () => open())
  const broken = opened[10]
  broken.res.write = () => { throw new TypeError('this response cannot be written to') }
  for (const { conn } of opened) {
    conn.write('data: a\n\n')
    conn.write('data: b\n\n')
  }
  t.ok(opened.every(({ res }) => res.chunks.length === 0), 'nothing is written within the tick')
  await flushed()
  for (const [i, { res, conn }] of opened.entries()) {
    if (i === 10) continue
    t.same(res.chunks, ['data: a\n\ndata: b\n\n'], `connection ${i}: both blocks in one write`)
    t.equal(conn.reason, undefined)
  }
  t.equal(broken.conn.reason, 'error', 'the response that threw is dropped')
  t.ok(broken.res.destroyed)
  // A later tick still flushes: the throw left nothing stuck.
  opened[11].conn.write('data: c\n\n')
  await flushed()
  t.same(opened[11].res.chunks.at(-1), 'data: c\n\n')
})

test('a push with nothing waiting is written at once; behind a batch it joins the batch, in order', async (t) => {
  const { res, conn } = open()
  t.equal(conn.push('data: 1\n\n'), true)
  t.same(res.chunks, ['data: 1\n\n'], 'written within the push: a publish reaches every socket in its own pass')
  conn.write('data: 2\n\n')
  conn.push('data: 3\n\n')
  t.same(res.chunks, ['data: 1\n\n'], 'behind a batched block, a push waits with it')
  await flushed()
  t.same(res.chunks, ['data: 1\n\n', 'data: 2\n\ndata: 3\n\n'], 'then both leave in one write, in order')
  t.equal(conn.events, 3)
})

test('a push refused by the client blocks the connection until it drains; one whose write throws is dropped', async (t) => {
  const slow = open({}, { highWaterMark: 8 })
  t.equal(slow.conn.push('data: 123456789\n\n'), false, 'the client has no room')
  let writable = false
  slow.conn.whenWritable().then(() => { writable = true })
  await flushed()
  t.equal(writable, false, 'blocked until the client reads')
  slow.conn.push('data: 2\n\n')
  t.equal(slow.res.chunks.length, 1, 'a later push waits behind the refused one')
  slow.res.take()
  await flushed()
  t.equal(writable, true)
  t.same(slow.res.chunks.at(-1), 'data: 2\n\n')
  const broken = open()
  broken.res.write = () => { throw new TypeError('this response cannot be written to') }
  t.equal(broken.conn.push('data: x\n\n'), false)
  t.equal(broken.conn.reason, 'error')
})
