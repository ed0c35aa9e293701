import { test } from 'tap'
import { encodeEvent } from 'fastify-typed-sse'
import { decodeEvents } from 'fastify-typed-sse/testing'
import { show } from './helpers/show.mjs'

test('writes fields with exactly one space and ends the block with a blank line', async (t) => {
  t.equal(encodeEvent({ event: 'tick', id: '7', retry: 1000, data: 'x' }), 'event: tick\nid: 7\nretry: 1000\ndata: x\n\n')
})

test('keeps falsy values', async (t) => {
  t.equal(encodeEvent({ id: 0 }), 'id: 0\n\n', 'id 0')
  t.equal(encodeEvent({ id: '' }), 'id: \n\n', 'empty id resets the client id')
  t.equal(encodeEvent({ retry: 0 }), 'retry: 0\n\n', 'retry 0')
  t.equal(encodeEvent({ data: '' }), 'data: \n\n', 'empty data still fires')
  t.equal(encodeEvent({ data: 0 }), 'data: 0\n\n', 'data 0')
  t.equal(encodeEvent({ data: false }), 'data: false\n\n', 'data false')
  t.equal(encodeEvent({ data: null }), 'data: null\n\n', 'data null')
})

test('splits data on CRLF, CR and LF, keeping empty pieces', async (t) => {
  t.equal(encodeEvent({ data: 'a\nb' }), 'data: a\ndata: b\n\n')
  t.equal(encodeEvent({ data: 'a\r\nb' }), 'data: a\ndata: b\n\n')
  t.equal(encodeEvent({ data: 'a\rb' }), 'data: a\ndata: b\n\n')
  t.equal(encodeEvent({ data: 'a\n\rb' }), 'data: a\ndata: \ndata: b\n\n')
  t.equal(encodeEvent({ data: 'a\r\rb' }), 'data: a\ndata: \ndata: b\n\n')
  t.equal(encodeEvent({ data: 'abc\n' }), 'data: abc\ndata: \n\n')
  t.equal(encodeEvent({ data: 'abc\r' }), 'data: abc\ndata: \n\n')
  t.equal(encodeEvent({ data: '\n' }), 'data: \ndata: \n\n')
})

test('never rewrites values', async (t) => {
  for (const data of [' x', 'x  ', '   ', ':x', 'data: y', 'id: 5', 'a\u0000b', 'é 日本 😀 𝄞', 'a\u2028b\u2029c\u0085d\u000be\u000cf', '\uFEFFx']) {
    t.same(decodeEvents(encodeEvent({ data })).map((e) => e.data), [data], show(data))
  }
})

test('serializes non-string data as JSON, which never needs splitting', async (t) => {
  t.equal(encodeEvent({ data: { text: 'line1\nline2\r\n', n: 1 } }), 'data: {"text":"line1\\nline2\\r\\n","n":1}\n\n')
  t.equal(encodeEvent({ data: [1, 'a'] }), 'data: [1,"a"]\n\n')
})

test('omits an empty event name, so every client reads "message"', async (t) => {
  t.equal(encodeEvent({ event: '', data: 'x' }), 'data: x\n\n')
  t.same(decodeEvents(encodeEvent({ event: '', data: 'x' }))[0].type, 'message')
})

test('writes comments as comment lines only', async (t) => {
  t.equal(encodeEvent({ comment: 'hi' }), ': hi\n\n')
  t.equal(encodeEvent({ comment: '' }), ':\n\n')
  t.equal(encodeEvent({ comment: 'a\nb\r\nc\rd' }), ': a\n: b\n: c\n: d\n\n')
  t.equal(encodeEvent({ comment: 'a\n\nb' }), ': a\n:\n: b\n\n', 'an empty line in a comment stays a comment')
  t.same(decodeEvents(encodeEvent({ comment: 'x\ndata: y\n\n' })), [], 'a comment never becomes a field')
})

test('an id-only or retry-only item is a complete block; an empty item is nothing', async (t) => {
  t.equal(encodeEvent({ id: 'a' }), 'id: a\n\n')
  t.equal(encodeEvent({ retry: 5 }), 'retry: 5\n\n')
  t.equal(encodeEvent({}), '')
})

test('numeric ids are written in decimal; unsafe ones are refused', async (t) => {
  t.equal(encodeEvent({ id: 42, data: 'x' }), 'id: 42\ndata: x\n\n')
  t.equal(encodeEvent({ id: -3 }), 'id: -3\n\n')
  t.throws(() => encodeEvent({ id: 1.5 }), { code: 'FST_SSE_INVALID_EVENT' })
  t.throws(() => encodeEvent({ id: 2 ** 53 }), { code: 'FST_SSE_INVALID_EVENT' })
  t.throws(() => encodeEvent({ id: NaN }), { code: 'FST_SSE_INVALID_EVENT' })
})

test('rejects everything that would inject fields or vanish silently', async (t) => {
  const cases = [
    [{ event: 'admin\ndata: pwned\n\n' }, TypeError, /event must not contain CR or LF/],
    [{ event: 'a\rb' }, TypeError, /event must not contain CR or LF/],
    [{ id: '1\r\ndata: injected\r\n\r\n' }, TypeError, /id must not contain CR, LF or NUL/],
    [{ id: '12\r34' }, TypeError, /id must not contain/],
    [{ id: 'a\nb' }, TypeError, /id must not contain/],
    [{ id: 'a\u0000b' }, TypeError, /id must not contain/],
    [{ retry: -1 }, RangeError, /retry must be a non-negative safe integer/],
    [{ retry: 1.5 }, RangeError, /retry/],
    [{ retry: NaN }, RangeError, /retry/],
    [{ retry: Infinity }, RangeError, /retry/],
    [{ retry: -Infinity }, RangeError, /retry/],
    [{ retry: 1e21 }, RangeError, /retry/],
    [{ retry: '1000\ndata: x' }, RangeError, /retry/],
    [{ event: 5 }, TypeError, /event must be a string/],
    [{ id: {} }, TypeError, /id must be a string or a safe integer/],
    [{ comment: 3 }, TypeError, /comment must be a string/],
    [null, TypeError, /expected an object/],
    ['data', TypeError, /expected an object/],
    [{ data: () => 1 }, Error, /not JSON-serializable/],
    [{ data: Symbol('s') }, Error, /not JSON-serializable/],
    [{ data: 10n }, Error, /Could not serialize event data: .*BigInt/],
    [{ data: (() => { const o = {}; o.self = o; return o })() }, Error, /Could not serialize event data: .*circular/]
  ]
  for (const [item, Type, message] of cases) {
    let error
    try {
      encodeEvent(item)
    } catch (err) {
      error = err
    }
    t.ok(error instanceof Type, `${show(item)} throws a ${Type.name}`)
    t.match(error?.message, message, `${show(item)}: ${message}`)
  }
})

// The check of an event type is remembered per name: what was refused once is refused every time,
// also right after a valid name, and a valid name still passes after a refusal.
test('event types are checked every time, whatever was encoded before', async (t) => {
  for (let round = 0; round < 3; round++) {
    t.equal(encodeEvent({ event: 'tick', data: { a: 1 } }), 'event: tick\ndata: {"a":1}\n\n')
    t.throws(() => encodeEvent({ event: 'tick\nid: 9', data: { a: 1 } }), { code: 'FST_SSE_INVALID_EVENT' })
    t.throws(() => encodeEvent({ event: 'tick\r', data: 'x' }), { code: 'FST_SSE_INVALID_EVENT' })
    t.throws(() => encodeEvent({ event: Object('tick'), data: { a: 1 } }), { code: 'FST_SSE_INVALID_EVENT' })
    t.throws(() => encodeEvent({ event: 'tick', id: 'a\nb', data: { a: 1 } }), { code: 'FST_SSE_INVALID_EVENT' })
    t.equal(encodeEvent({ event: 'tick', id: 3, retry: 5, comment: 'c', data: { b: '\n\r\ud800' } }),
      ': c\nevent: tick\nid: 3\nretry: 5\ndata: {"b":"\\n\\r\\ud800"}\n\n')
  }
})
