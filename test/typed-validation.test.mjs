import { test } from 'tap'
import { Type } from '@sinclair/typebox'
import { injectEvents } from 'fastify-typed-sse/testing'
import { build } from './helpers/app.mjs'

const Progress = Type.Object({ step: Type.String(), percent: Type.Integer({ minimum: 0, maximum: 100 }) })
const Done = Type.Object({ ok: Type.Boolean() })
const events = { progress: Progress, done: Done }

const good = { event: 'progress', data: { step: 'a', percent: 10 } }
const tooHigh = { event: 'progress', data: { step: 'b', percent: 150 } }
const last = { event: 'done', data: { ok: true } }

function route (app, sse, items) {
  app.get('/s', { sse }, (request, reply) => reply.sse(items))
}

test('valid items go out; an invalid one ends the stream with the terminal error event by default', async (t) => {
  const app = await build(t)
  route(app, { events }, [good, tooHigh, last])
  const { events: got } = await injectEvents(app, '/s')
  t.same(got.map((e) => [e.type, e.data]), [
    ['progress', '{"step":"a","percent":10}'],
    ['error', '{"message":"Internal Server Error"}']
  ])
  const line = app.logs.find((l) => l.err?.code === 'FST_SSE_INVALID_PAYLOAD')
  t.ok(line, 'the failure is logged with its code')
  t.equal(line.err.path, '/percent', 'with the path of the failing field')
  t.equal(line.err.event, 'progress')
  t.match(line.err.message, /"progress" at \/percent/)
  t.notMatch(line.err.message, /150/, 'without the value itself')
  t.ok(line.reqId, 'through the request logger')
})

test("onInvalid: 'skip' drops the item, logs it, and goes on", async (t) => {
  const app = await build(t)
  route(app, { events, onInvalid: 'skip' }, [good, tooHigh, { event: 'nope', data: {} }, last])
  const { events: got } = await injectEvents(app, '/s')
  t.same(got.map((e) => e.type), ['progress', 'done'])
  const skipped = app.logs.filter((l) => l.msg === 'event stream item skipped')
  t.same(skipped.map((l) => l.err.code), ['FST_SSE_INVALID_PAYLOAD', 'FST_SSE_UNKNOWN_EVENT'])
  t.equal(skipped[0].err.path, '/percent')
  t.equal(skipped[0].level, 40, 'as a warning')
  t.equal(skipped[0].route, 'GET /s', 'naming the route')
  t.ok(skipped.every((l) => typeof l.reqId === 'string'), 'through request.log, with the request id')
})

test("onInvalid: 'skip' still ends the stream for items that are broken, not just off-schema", async (t) => {
  const app = await build(t)
  route(app, { events, onInvalid: 'skip' }, [good, { event: 'done', id: 'a\nb', data: { ok: true } }, last])
  const { events: got } = await injectEvents(app, '/s')
  t.same(got.map((e) => e.type), ['progress', 'error'])
  t.ok(app.logs.some((l) => l.err?.code === 'FST_SSE_INVALID_EVENT'))
})

test('an event name outside the map is an error, and so is data without a name when there is no message schema', async (t) => {
  for (const item of [{ event: 'progres', data: { step: 'a', percent: 1 } }, { data: { ok: true } }, { event: '', data: { ok: true } }]) {
    const app = await build(t)
    route(app, { events }, [item, last])
    const { events: got } = await injectEvents(app, '/s')
    t.same(got.map((e) => e.type), ['error'], JSON.stringify(item))
    const line = app.logs.find((l) => l.err?.code === 'FST_SSE_UNKNOWN_EVENT')
    t.match(line?.err.message, /not in the event map \(declared: progress, done\)/)
  }
})

test('control items (id, retry, comment only) need no schema', async (t) => {
  const app = await build(t)
  route(app, { events }, [{ comment: 'hi' }, { retry: 500 }, { id: 'x' }, last])
  const result = await injectEvents(app, '/s')
  t.same(result.events.map((e) => [e.type, e.lastEventId]), [['done', 'x']])
  t.same(result.retries, [500])
  t.same(result.comments, ['', 'hi'])
})

test('a message schema types the default event, with or without its name', async (t) => {
  const app = await build(t)
  route(app, { events: { message: Type.Object({ text: Type.String() }) } }, [
    { data: { text: 'one' } },
    { event: 'message', data: { text: 'two' } },
    { data: { text: 3 } }
  ])
  const { events: got, body } = await injectEvents(app, '/s')
  t.same(got.map((e) => [e.type, e.data]), [
    ['message', '{"text":"one"}'],
    ['message', '{"text":"two"}'],
    ['error', '{"message":"Internal Server Error"}']
  ])
  t.match(body, /^:\n\ndata: \{"text":"one"\}\n\n/, 'no event line for an unnamed item')
})

test('nested objects, arrays and unions are checked all the way down', async (t) => {
  const Shape = Type.Union([
    Type.Object({ kind: Type.Literal('circle'), r: Type.Number() }),
    Type.Object({ kind: Type.Literal('rect'), w: Type.Number(), h: Type.Number() })
  ])
  const Scene = Type.Object({
    name: Type.String(),
    layers: Type.Array(Type.Object({ id: Type.Integer(), shapes: Type.Array(Shape) }))
  })
  const ok = { name: 's', layers: [{ id: 1, shapes: [{ kind: 'circle', r: 2 }, { kind: 'rect', w: 1, h: 3 }] }] }
  const bad = { name: 's', layers: [{ id: 1, shapes: [{ kind: 'circle', r: 2 }] }, { id: 2, shapes: [{ kind: 'rect', w: 1 }] }] }
  const app = await build(t)
  route(app, { events: { scene: Scene } }, [{ event: 'scene', data: ok }, { event: 'scene', data: bad }])
  const { events: got } = await injectEvents(app, '/s')
  t.same(got.map((e) => e.type), ['scene', 'error'])
  t.same(JSON.parse(got[0].data), ok)
  const line = app.logs.find((l) => l.err?.code === 'FST_SSE_INVALID_PAYLOAD')
  t.match(line.err.path, /^\/layers\/1\/shapes\/0/, 'the path points into the nested union member')
})

test('validate: false lets off-schema data through (serialized as best the schema allows)', async (t) => {
  const app = await build(t)
  route(app, { events, validate: false }, [{ event: 'progress', data: { step: 'a', percent: 150, secret: 'x' } }])
  const { events: got } = await injectEvents(app, '/s')
  t.same(got.map((e) => [e.type, e.data]), [['progress', '{"step":"a","percent":150}']],
    'out of range goes out; undeclared properties are still left out by the compiled serializer')
})

test('validate: false still ends the stream when the serializer cannot make sense of the data', async (t) => {
  const app = await build(t)
  route(app, { events, validate: false }, [{ event: 'progress', data: { step: 'a' } }])
  const { events: got } = await injectEvents(app, '/s')
  t.same(got.map((e) => e.type), ['error'])
  t.ok(app.logs.some((l) => l.err?.code === 'FST_SSE_SERIALIZE' && /progress/.test(l.err.message)))
})

test('pushed streams: send() throws the coded error for an invalid item and the stream stays open', async (t) => {
  const app = await build(t)
  const thrown = []
  app.get('/push', { sse: { events } }, (request, reply) => {
    const stream = reply.sse.open()
    stream.send(good)
    for (const item of [tooHigh, { event: 'other', data: 1 }]) {
      try { stream.send(item) } catch (err) { thrown.push(err.code) }
    }
    stream.send(last)
    stream.close()
    return stream.done
  })
  const { events: got } = await injectEvents(app, '/push')
  t.same(thrown, ['FST_SSE_INVALID_PAYLOAD', 'FST_SSE_UNKNOWN_EVENT'])
  t.same(got.map((e) => e.type), ['progress', 'done'])
})

test("pushed streams under 'skip': the invalid item is dropped without a throw", async (t) => {
  const app = await build(t)
  app.get('/push', { sse: { events, onInvalid: 'skip' } }, (request, reply) => {
    const stream = reply.sse.open()
    t.equal(stream.send(tooHigh), true, 'nothing queued, nothing wrong with the stream')
    stream.send(last)
    stream.close()
    return stream.done
  })
  const { events: got } = await injectEvents(app, '/push')
  t.same(got.map((e) => e.type), ['done'])
})

test('routes without events keep the untyped behaviour', async (t) => {
  const app = await build(t)
  route(app, {}, [{ event: 'anything', data: 'raw text' }, { data: { n: 1 } }])
  const { events: got } = await injectEvents(app, '/s')
  t.same(got.map((e) => [e.type, e.data]), [['anything', 'raw text'], ['message', '{"n":1}']])
})
