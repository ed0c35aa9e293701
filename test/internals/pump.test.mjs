// The pump driven directly: it pulls the next item only when the client has room, and the
// stream ending (client gone, stall, shutdown) settles it at once and cancels the producer,
// even one stuck in a next() that never settles. Backpressure is the fake response refusing
// writes; the client reading is take().
import { test } from 'tap'
import { Connection, pump } from './lib.mjs'
import { FakeResponse, deferred, fakeClock, flushed, settled } from './fakes.mjs'

const limits = { heartbeatMs: 0, stallTimeoutMs: 1000, maxBufferedBytes: 1024 * 1024 }
const encode = (item) => `data: ${item.data}\n\n`

function counting (state, total = 1000) {
  return (async function * () {
    try {
      for (let i = 1; i <= total; i++) {
        state.pulled = i
        yield { data: 'x'.repeat(100) + i }
      }
    } finally {
      state.finished = true
    }
  })()
}

test('the next item is pulled only when the client has room, and nothing is lost', async (t) => {
  const clock = fakeClock()
  const res = new FakeResponse({ highWaterMark: 1000 })
  const conn = new Connection(res, limits, clock.now())
  const state = { pulled: 0, finished: false }
  const done = pump(conn, counting(state), encode, Infinity)
  await settled()
  const parked = state.pulled
  // Writes in one tick are batched; the batch leaves once it reaches 32 KiB and is refused.
  t.ok(parked > 0 && parked * 104 <= 33 * 1024, `parked on backpressure after ${parked} items (one batch)`)
  await settled()
  await settled()
  t.equal(state.pulled, parked, 'while the client reads nothing, nothing more is pulled')
  t.notOk(state.finished)
  let rounds = 0
  while (!state.finished && rounds++ < 1000) {
    res.take()
    await settled()
  }
  t.equal(await done, undefined, 'the producer finished normally')
  await flushed()
  const sent = res.text.split('\n\n').filter(Boolean).map((b) => Number(b.slice(106)))
  t.same(sent, Array.from({ length: 1000 }, (_, i) => i + 1), 'every item once, in order')
  t.ok(rounds > 1, `the client had to read ${rounds} times`)
})

test('a client leaving while the pump waits for room settles it and cancels the producer', async (t) => {
  const res = new FakeResponse({ highWaterMark: 1000 })
  const conn = new Connection(res, limits, 0)
  const state = { pulled: 0, finished: false }
  const done = pump(conn, counting(state), encode, Infinity)
  await settled()
  t.ok(res.needDrain, 'the pump is waiting for room')
  const parked = state.pulled
  res.gone()
  t.equal(await done, undefined, 'settled without an error')
  t.equal(conn.reason, 'client')
  await settled()
  t.ok(state.finished, "the producer's finally ran")
  t.equal(state.pulled, parked, 'nothing was pulled after the client left')
})

test('a stall while the pump waits ends the stream at the stall timeout, not before', async (t) => {
  const clock = fakeClock()
  const res = new FakeResponse({ highWaterMark: 1000 })
  const conn = new Connection(res, limits, clock.now())
  const state = { pulled: 0, finished: false }
  const done = pump(conn, counting(state), encode, Infinity)
  await settled()
  conn.tick(clock.now())
  conn.tick(clock.advance(999))
  t.equal(conn.closed, false)
  conn.tick(clock.advance(1))
  await done
  t.equal(conn.reason, 'stalled')
  await settled()
  t.ok(state.finished)
})

test('a producer stuck in a next() that never settles still gets return() when the stream ends', async (t) => {
  const conn = new Connection(new FakeResponse(), limits, 0)
  const returned = deferred()
  let calls = 0
  const iterator = {
    next: () => (++calls === 1 ? Promise.resolve({ done: false, value: { data: 'first' } }) : new Promise(() => {})),
    return: () => { returned.resolve(); return Promise.resolve({ done: true }) }
  }
  const done = pump(conn, iterator, encode, Infinity)
  await settled()
  t.equal(calls, 2, 'waiting on the second next()')
  conn.end('shutdown')
  t.equal(await done, undefined)
  await returned.promise
  t.pass('return() was called although next() is still pending')
})

test('an ending that lands between a next() and its result drops the late item', async (t) => {
  const res = new FakeResponse()
  const conn = new Connection(res, limits, 0)
  const late = deferred()
  const iterator = { next: () => late.promise, return: () => ({ done: true }) }
  const done = pump(conn, iterator, encode, Infinity)
  conn.end('end')
  late.resolve({ done: false, value: { data: 'too late' } })
  await done
  await settled()
  t.equal(res.text, '', 'the late item was not written')
})

test('a producer that throws or breaks the protocol settles the pump once, with its error or a coded one', async (t) => {
  const boom = new Error('boom')
  const cases = [
    ['throws', { next: () => { throw boom } }, boom],
    ['rejects', { next: () => Promise.reject(boom) }, boom],
    ['returns a non-object', { next: () => 42 }, 'FST_SSE_PRODUCER'],
    ['throws a non-Error', { next: () => { throw null } }, 'FST_SSE_PRODUCER'], // eslint-disable-line no-throw-literal
    ['a thenable that fails twice', { next: () => ({ then (ok, fail) { fail(boom); fail(new Error('second')) } }) }, boom]
  ]
  for (const [name, iterator, expected] of cases) {
    const conn = new Connection(new FakeResponse(), limits, 0)
    let returned = false
    iterator.return = () => { returned = true }
    const error = await pump(conn, iterator, encode, Infinity)
    if (typeof expected === 'string') t.equal(error?.code, expected, `${name}: ${expected}`)
    else t.equal(error, expected, `${name}: the producer's own error`)
    t.notOk(returned, `${name}: a failed producer is owed no return()`)
  }
})

test('next is read once, as for-await reads it; an async generator with its own next() gets every check', async (t) => {
  const conn = () => new Connection(new FakeResponse(), limits, 0)
  // A producer whose next() changes after the first read: the first one is kept.
  let reads = 0
  const items = [1, 2, 3]
  const swapping = {
    get next () {
      reads++
      if (reads > 1) return () => ({ done: false, value: { data: 'from a later read' } })
      return () => items.length > 0 ? { done: false, value: { data: String(items.shift()) } } : { done: true, value: undefined }
    }
  }
  const first = conn()
  t.equal(await pump(first, swapping, encode, Infinity), undefined)
  t.equal(reads, 1, 'read once for four calls')
  await flushed()
  t.equal(first.res.text, 'data: 1\n\ndata: 2\n\ndata: 3\n\n')
  // An async generator object whose next is its own (not the generator's): a result that is
  // not an iterator result is refused with the coded error, not trusted as a generator's.
  const generator = (async function * () { yield { data: 'never' } })()
  generator.next = () => 42
  const second = conn()
  const error = await pump(second, generator, encode, Infinity)
  t.equal(error?.code, 'FST_SSE_PRODUCER')
  t.match(error?.message, /not an object/)
})
