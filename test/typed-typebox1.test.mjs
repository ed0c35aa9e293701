// Event maps built with TypeBox 1.x (`typebox`, the package @fastify/type-provider-typebox 6
// depends on and re-exports), alone, next to TypeBox 0.34 schemas, and on a type-provider route.
import { test } from 'tap'
import { Type } from 'typebox'
import { Type as Type034 } from '@sinclair/typebox'
import { Type as ProviderType } from '@fastify/type-provider-typebox'
import { injectEvents } from 'fastify-typed-sse/testing'
import { build } from './helpers/app.mjs'

const Progress = Type.Object({ step: Type.String(), percent: Type.Integer({ minimum: 0, maximum: 100 }) })
const Done = Type.Object({ ok: Type.Boolean(), note: Type.Optional(Type.String()) })

test('a TypeBox 1.x map starts, validates each item with its compiled check and serializes from the schema', async (t) => {
  const app = await build(t)
  app.get('/s', { sse: { events: { progress: Progress, done: Done } } }, (request, reply) => reply.sse([
    { event: 'progress', data: { step: 'a', percent: 10, extra: 'left out by the serializer' } },
    { event: 'done', data: { ok: true } },
    { event: 'progress', data: { step: 'b', percent: 150 } }
  ]))
  const { events } = await injectEvents(app, '/s')
  t.same(events.map((e) => [e.type, e.data]), [
    ['progress', '{"step":"a","percent":10}'],
    ['done', '{"ok":true}'],
    ['error', '{"message":"Internal Server Error"}']
  ])
  const line = app.logs.find((l) => l.err?.code === 'FST_SSE_INVALID_PAYLOAD')
  t.equal(line?.err.path, '/percent', 'the failing field, from TypeBox 1.x errors')
  t.equal(line?.err.event, 'progress')
  t.notMatch(line?.err.message, /150/, 'without the value itself')
})

test('one map may hold TypeBox 1.x and 0.34 schemas; each is checked by its own compiler', async (t) => {
  const app = await build(t)
  const events = { done: Done, legacy: Type034.Object({ n: Type034.Number() }) }
  app.get('/s', { sse: { events, onInvalid: 'skip' } }, (request, reply) => reply.sse([
    { event: 'legacy', data: { n: 'one' } },
    { event: 'done', data: { ok: 'yes' } },
    { event: 'legacy', data: { n: 1 } },
    { event: 'done', data: { ok: false, note: 'n' } }
  ]))
  const { events: got } = await injectEvents(app, '/s')
  t.same(got.map((e) => [e.type, e.data]), [['legacy', '{"n":1}'], ['done', '{"ok":false,"note":"n"}']])
  t.same(app.logs.filter((l) => l.msg === 'event stream item skipped').map((l) => [l.err.event, l.err.path]), [['legacy', '/n'], ['done', '/ok']])
})

test('a type-provider route: params and events from the Type of @fastify/type-provider-typebox', async (t) => {
  const app = await build(t)
  const typed = app.withTypeProvider()
  const Params = ProviderType.Object({ id: ProviderType.Integer() })
  typed.get('/jobs/:id', {
    schema: { params: Params },
    sse: { events: { progress: ProviderType.Object({ id: ProviderType.Integer(), percent: ProviderType.Integer() }) } }
  }, (request, reply) => reply.sse([{ event: 'progress', data: { id: request.params.id, percent: 5 } }]))
  const { events } = await injectEvents(app, '/jobs/7')
  t.same(events.map((e) => [e.type, e.data]), [['progress', '{"id":7,"percent":5}']], 'params coerced by Fastify, data validated by TypeBox 1.x')
  const bad = await app.inject('/jobs/x')
  t.equal(bad.statusCode, 400, 'the params schema still guards the route')
})

test('a schema of neither TypeBox line nor a Standard Schema needs validate: false, as before', async (t) => {
  const app = await build(t)
  t.throws(() => app.get('/s', { sse: { events: { done: { type: 'object', properties: { ok: { type: 'boolean' } } } } } }, (q, r) => r.sse([])),
    { code: 'FST_SSE_INVALID_SCHEMA', message: /route GET \/s: .*not a TypeBox or Standard Schema/ })
  app.get('/p', { sse: { validate: false, events: { done: { type: 'object', properties: { ok: { type: 'boolean' } } } } } },
    (request, reply) => reply.sse([{ event: 'done', data: { ok: true } }]))
  const { events } = await injectEvents(app, '/p')
  t.same(events.map((e) => e.data), ['{"ok":true}'])
})

test('a replay stream of TypeBox 1.x schemas validates and serializes each publish once', async (t) => {
  const app = await build(t)
  const feed = app.sse.stream('jobs', { events: { progress: Progress, done: Done } })
  await app.ready()
  const stored = await feed.publish({ event: 'progress', data: { step: 'a', percent: 10, extra: 'left out' } })
  t.equal(stored.data, '{"step":"a","percent":10}', 'serialized from the schema')
  t.equal(stored.event, 'progress')
  await t.rejects(feed.publish({ event: 'done', data: { ok: 'yes' } }), { code: 'FST_SSE_INVALID_PAYLOAD', path: '/ok' }, 'refused by the compiled check')
  await t.rejects(feed.publish({ event: 'progress', data: { step: 'b', percent: 150 } }), { code: 'FST_SSE_INVALID_PAYLOAD', path: '/percent' })
  t.match(await feed.head(), /:1$/, 'nothing refused was stored')
})
