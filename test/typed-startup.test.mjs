import { test } from 'tap'
import { Type } from '@sinclair/typebox'
import { errors } from 'fastify-typed-sse'
import { build } from './helpers/app.mjs'

/** Declares the route and starts the app; resolves with whatever error either step raised. */
async function startupError (t, sse) {
  const app = await build(t)
  try {
    app.get('/s', { sse }, (request, reply) => reply.sse([]))
    await app.ready()
  } catch (err) {
    return err
  }
  return undefined
}

const cases = [
  ['a TypeBox type JSON cannot carry (Date)', { events: { when: Type.Date() } }, 'FST_SSE_INVALID_SCHEMA', /"when".*GET \/s|GET \/s.*"when"/],
  ['a plain JSON schema (no TypeBox kind) with validation on', { events: { x: { type: 'object' } } }, 'FST_SSE_INVALID_SCHEMA', /validate: false/],
  ['a schema the serializer cannot compile', { events: { x: Type.Unsafe({ type: 'object', properties: { a: { $ref: '#/nowhere' } } }) }, validate: false }, 'FST_SSE_INVALID_SCHEMA', /"x"/],
  ['events that are not an object', { events: 'progress' }, 'FST_SSE_INVALID_ROUTE_OPTION', /events must be an object/],
  ['an empty event map', { events: {} }, 'FST_SSE_INVALID_ROUTE_OPTION', /at least one event/],
  ['an event name with a line break', { events: { 'a\nb': Type.String() } }, 'FST_SSE_INVALID_ROUTE_OPTION', /CR and LF/],
  ['a schema that is not an object', { events: { a: 'string' } }, 'FST_SSE_INVALID_ROUTE_OPTION', /schema of event "a"/],
  ['an unknown failure policy', { events: { a: Type.String() }, onInvalid: 'ignore' }, 'FST_SSE_INVALID_ROUTE_OPTION', /onInvalid/],
  ['a non-boolean validate', { events: { a: Type.String() }, validate: 'no' }, 'FST_SSE_INVALID_ROUTE_OPTION', /validate must be a boolean/]
]

for (const [what, sse, code, message] of cases) {
  test(`start-up fails with ${code} for ${what}`, async (t) => {
    const err = await startupError(t, sse)
    t.equal(err?.code, code)
    t.match(err?.message, message)
    t.match(err?.message, /GET \/s/, 'naming the route')
    // Every option error is also one of the family, so one check still catches them all.
    if (code === 'FST_SSE_INVALID_ROUTE_OPTION') t.ok(err instanceof errors.FST_SSE_INVALID_OPTION && err instanceof TypeError, 'of the option family')
  })
}

test('the same mistakes on a declared stream name the stream, under the stream code', async (t) => {
  const app = await build(t)
  for (const [i, [what, options, code, message]] of cases.entries()) {
    let err
    try {
      app.sse.stream(`jobs${i}`, options)
    } catch (e) {
      err = e
    }
    t.equal(err?.code, code === 'FST_SSE_INVALID_ROUTE_OPTION' ? 'FST_SSE_INVALID_STREAM_OPTION' : code, what)
    t.match(err?.message, message.source.includes('GET') ? /"when"/ : message, what)
    t.match(err?.message, `stream jobs${i}`, `${what}: naming the stream`)
    t.notMatch(err?.message, /route/, `${what}: and no route`)
  }
})

test('a schema error keeps what the compiler said as its cause', async (t) => {
  const err = await startupError(t, { events: { x: Type.Unsafe({ type: 'object', properties: { a: { $ref: '#/nowhere' } } }) }, validate: false })
  t.equal(err?.code, 'FST_SSE_INVALID_SCHEMA')
  t.ok(err.cause instanceof Error, 'the cause is kept')
  t.match(err.message, err.cause.message, 'and its message is a parameter of the coded one')
})

test('a plain JSON schema works with validation off', async (t) => {
  t.equal(await startupError(t, { events: { x: { type: 'object', properties: { a: { type: 'string' } } } }, validate: false }), undefined)
})
