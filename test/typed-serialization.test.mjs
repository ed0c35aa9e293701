import { test } from 'tap'
import { Type } from '@sinclair/typebox'
import { injectEvents } from 'fastify-typed-sse/testing'
import { build } from './helpers/app.mjs'
import { pick, rng } from './helpers/rng.mjs'

async function wire (t, sse, items, pluginOptions) {
  const app = await build(t, pluginOptions)
  app.get('/s', { sse }, (request, reply) => reply.sse(items))
  return injectEvents(app, '/s')
}

const Note = Type.Object({
  title: Type.String(),
  body: Type.String(),
  tags: Type.Array(Type.String()),
  author: Type.Object({ name: Type.String(), age: Type.Optional(Type.Integer()) })
})
const note = {
  title: 'line\nbreaks',
  body: 'crlf\r\nand cr\rand "quotes" \\ and é 日本 😀 \u2028 \u0000',
  tags: ['a\nb', ''],
  author: { name: 'Ada' }
}

test('strings with line breaks inside JSON stay one data line and come back intact', async (t) => {
  const { events, body } = await wire(t, { events: { note: Note } }, [{ event: 'note', data: note }])
  t.same(JSON.parse(events[0].data), note)
  t.equal(body.split('\n').filter((l) => l.startsWith('data:')).length, 1, 'one data line')
})

test('serialize: false writes the same bytes through the plugin serializer', async (t) => {
  const items = [{ event: 'note', data: note, id: 1 }, { event: 'note', data: { ...note, author: { name: 'B', age: 40 } } }]
  const compiled = await wire(t, { events: { note: Note } }, items)
  const plain = await wire(t, { events: { note: Note }, serialize: false }, items)
  t.equal(compiled.body, plain.body)
  t.equal(compiled.events.length, 2)
})

test('serialize: false uses the plugin serializer option', async (t) => {
  const calls = []
  const serializer = (data, event) => { calls.push(event); return 'custom:' + JSON.stringify(data) }
  const { events } = await wire(t, { events: { note: Note }, serialize: false }, [{ event: 'note', data: note }], { serializer })
  t.same(calls, ['note'])
  t.match(events[0].data, /^custom:\{/)
})

test('the compiled serializer writes only what the schema declares', async (t) => {
  const { events } = await wire(t, { events: { user: Type.Object({ name: Type.String() }) } },
    [{ event: 'user', data: { name: 'ada', password: 'hunter2' } }])
  t.same(events.map((e) => e.data), ['{"name":"ada"}'])
})

test('every payload of a declared event is JSON, strings included', async (t) => {
  const events = { message: Type.String(), count: Type.Integer(), flag: Type.Boolean(), nothing: Type.Null() }
  const items = [{ data: 'two\nlines' }, { event: 'count', data: 42 }, { event: 'flag', data: false }, { event: 'nothing', data: null }]
  for (const serialize of [true, false]) {
    const result = await wire(t, { events, serialize }, items)
    t.same(result.events.map((e) => JSON.parse(e.data)), ['two\nlines', 42, false, null], `serialize: ${serialize}`)
  }
})

test('unions serialize through the member that matches', async (t) => {
  const Shape = Type.Union([
    Type.Object({ kind: Type.Literal('circle'), r: Type.Number() }),
    Type.Object({ kind: Type.Literal('rect'), w: Type.Number(), h: Type.Number() })
  ])
  const shapes = [{ kind: 'circle', r: 1.5 }, { kind: 'rect', w: 2, h: 3 }]
  const { events } = await wire(t, { events: { shape: Shape } }, shapes.map((data) => ({ event: 'shape', data })))
  t.same(events.map((e) => JSON.parse(e.data)), shapes)
})

test('events without a schema are not allowed on a typed route, so nothing falls back silently', async (t) => {
  const { events } = await wire(t, { events: { a: Type.String() } }, [{ event: 'b', data: 'x' }])
  t.same(events.map((e) => e.type), ['error'])
})

// Compiled serializers escape every string, so their output is framed without a scan, except
// for strings declared `format: 'unsafe'`, which the serializer copies verbatim.
test("a string declared format: 'unsafe' is still split into data lines, never a field", async (t) => {
  const Raw = Type.Object({ text: Type.String({ format: 'unsafe' }) })
  // The validator knows no format 'unsafe': only the serializer reads it.
  const { events, body } = await wire(t, { events: { raw: Raw }, validate: false },
    [{ event: 'raw', id: 1, data: { text: 'a\nevent: forged\r\nid: 9\rdata: x' } }, { event: 'raw', id: 2, data: { text: 'ok' } }])
  t.same(events.map((e) => [e.type, e.lastEventId, e.data]), [
    ['raw', '1', '{"text":"a\nevent: forged\nid: 9\ndata: x"}'],
    ['raw', '2', '{"text":"ok"}']
  ])
  t.notMatch(body, /^event: forged/m)
  t.notMatch(body, /^id: 9/m)
})

test('a custom serializer under serialize: false is split into data lines', async (t) => {
  const serializer = (data) => JSON.stringify(data, null, 2)
  const { events, body } = await wire(t, { events: { note: Note }, serialize: false }, [{ event: 'note', data: note }], { serializer })
  t.same(JSON.parse(events[0].data), note)
  t.ok(body.split('\n').filter((l) => l.startsWith('data:')).length > 1, 'several data lines')
})

// The class behind the one above: compiled output is framed without a line scan, so every
// string a serializer may meet (line breaks, NUL, lone surrogates, U+2028, field-like text, in
// values and in additional property names) must come out as one data line and back intact.
test('generated hostile strings in typed data: one data line per event, decoded to the same value', async (t) => {
  const Bag = Type.Object({ s: Type.String(), list: Type.Array(Type.String()) }, { additionalProperties: Type.String() })
  const pieces = ['\n', '\r', '\r\n', '\u0000', '\ud800', '\udfff', '\u2028', 'event: x\n', 'id: 1\r', 'data: ', ':', '"', '\\', 'é', '😀', 'a', ' ']
  const seed = 0x5ee
  const next = rng(seed)
  const string = () => Array.from({ length: Math.floor(next() * 12) }, () => pick(next, pieces)).join('')
  const items = Array.from({ length: 200 }, () => ({ event: 'bag', data: { s: string(), list: [string(), string()], [string() + 'k']: string() } }))
  const { events, body } = await wire(t, { events: { bag: Bag } }, items)
  t.equal(events.length, items.length, `seed ${seed}: every item is one event`)
  let intact = 0
  for (const [i, event] of events.entries()) if (JSON.stringify(JSON.parse(event.data)) === JSON.stringify(items[i].data)) intact++
  t.equal(intact, items.length, 'each decodes to the value sent')
  t.equal(body.split('\n').filter((l) => l.startsWith('data:')).length, items.length, 'one data line each')
  t.notMatch(body, /^(event: x|id: 1)$/m, 'no string became a field')
})
