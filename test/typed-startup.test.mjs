import { test } from 'tap'
import { Type } from '@sinclair/typebox'
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
  ['events that are not an object', { events: 'progress' }, 'FST_SSE_INVALID_OPTION', /events must be an object/],
  ['an empty event map', { events: {} }, 'FST_SSE_INVALID_OPTION', /at least one event/],
  ['an event name with a line break', { events: { 'a\nb': Type.String() } }, 'FST_SSE_INVALID_OPTION', /CR and LF/],
  ['a schema that is not an object', { events: { a: 'string' } }, 'FST_SSE_INVALID_OPTION', /schema of event "a"/],
  ['an unknown failure policy', { events: { a: Type.String() }, onInvalid: 'ignore' }, 'FST_SSE_INVALID_OPTION', /onInvalid/],
  ['a non-boolean validate', { events: { a: Type.String() }, validate: 'no' }, 'FST_SSE_INVALID_OPTION', /validate must be a boolean/]
]

for (const [what, sse, code, message] of cases) {
  test(`start-up fails with ${code} for ${what}`, async (t) => {
    const err = await startupError(t, sse)
    t.equal(err?.code, code)
    t.match(err?.message, message)
    t.match(err?.message, /GET \/s/, 'naming the route')
  })
}

test('a plain JSON schema works with validation off', async (t) => {
  t.equal(await startupError(t, { events: { x: { type: 'object', properties: { a: { type: 'string' } } } }, validate: false }), undefined)
})
