// The pipeline's prepare() is what publishing uses to validate and serialize an event once for
// every subscriber; it is internal, so this test loads it from the build directly.
import { test } from 'tap'
import { Type } from '@sinclair/typebox'
import { errors } from 'fastify-typed-sse'
import { compileEvents } from './internals/lib.mjs'

const json = (data) => JSON.stringify(data)
// Where the map is declared, as a stream declaration passes it.
const declared = { where: 'stream t', invalid: (detail) => new errors.FST_SSE_INVALID_STREAM_OPTION('t', detail) }
const events = { progress: Type.Object({ percent: Type.Integer({ maximum: 100 }) }), message: Type.String() }

test('prepare() validates and serializes once, returning the event name and the data text', async (t) => {
  const { prepare } = compileEvents(events, {}, json, declared)
  t.same(prepare({ event: 'progress', data: { percent: 5, extra: 1 } }), { event: 'progress', text: '{"percent":5}' })
  t.same(prepare({ data: 'a\nb' }), { event: undefined, text: '"a\\nb"' })
  t.same(prepare({ id: 3 }), { event: undefined, text: undefined })
})

test('prepare() throws the coded error whatever the failure policy', async (t) => {
  for (const onInvalid of ['error', 'skip']) {
    const { prepare } = compileEvents(events, { onInvalid }, json, declared)
    t.throws(() => prepare({ event: 'progress', data: { percent: 500 } }), { code: 'FST_SSE_INVALID_PAYLOAD', path: '/percent' })
    t.throws(() => prepare({ event: 'other', data: 1 }), { code: 'FST_SSE_UNKNOWN_EVENT' })
    t.throws(() => prepare(null), { code: 'FST_SSE_INVALID_EVENT' })
  }
})

test('encode() frames what prepare() makes', async (t) => {
  const { encode } = compileEvents(events, {}, json, declared)
  t.equal(encode({ event: 'progress', id: 7, data: { percent: 1 } }), 'event: progress\nid: 7\ndata: {"percent":1}\n\n')
})

test('without an event map, prepare() keeps strings as they are and serializes the rest', async (t) => {
  const { prepare } = compileEvents(undefined, {}, json, declared)
  t.same(prepare({ event: 'x', data: 'raw' }), { event: 'x', text: 'raw' })
  t.same(prepare({ data: { a: 1 } }), { event: undefined, text: '{"a":1}' })
})
