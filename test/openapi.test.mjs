import { test } from 'tap'
import Fastify from 'fastify'
import swagger from '@fastify/swagger'
import { Type } from '@sinclair/typebox'
import sse from 'fastify-typed-sse'
import { injectEvents } from 'fastify-typed-sse/testing'

const Progress = Type.Object({ step: Type.String(), percent: Type.Integer({ minimum: 0, maximum: 100 }) })
const Done = Type.Object({ ok: Type.Boolean() })

async function documented (t, declare) {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(swagger, { openapi: { openapi: '3.2.0', info: { title: 'jobs', version: '1.0.0' } } })
  await app.register(sse)
  declare(app)
  await app.ready()
  return { app, doc: app.swagger() }
}

/** The value a branch requires for `event` (swagger may write a const as a one-value enum). */
function eventNameOf (branch) {
  const event = branch.properties.event
  if ('const' in event) return event.const
  return event.enum?.length === 1 ? event.enum[0] : undefined
}

test('an SSE route is documented as text/event-stream with one itemSchema branch per event', async (t) => {
  const { doc } = await documented(t, (app) => {
    app.get('/jobs/:id/progress', { sse: { events: { progress: Progress, done: Done } } }, (request, reply) => reply.sse([]))
  })
  const response = doc.paths['/jobs/{id}/progress'].get.responses['200']
  t.same(Object.keys(response.content), ['text/event-stream'])
  const media = response.content['text/event-stream']
  t.same(media.schema, { type: 'string' })
  const items = media.itemSchema
  t.equal(items.type, 'object')
  t.same(items.properties.retry, { type: 'integer', minimum: 0 })
  t.same(items.oneOf.map(eventNameOf), ['progress', 'done'])
  const [progress, done] = items.oneOf
  t.same(progress.required, ['event', 'data'])
  t.equal(progress.properties.data.type, 'string', 'data is text on the wire')
  t.equal(progress.properties.data.contentMediaType, 'application/json')
  t.same(progress.properties.data.contentSchema, JSON.parse(JSON.stringify(Progress)), 'holding JSON of the event schema')
  t.same(done.properties.data.contentSchema, JSON.parse(JSON.stringify(Done)))
  t.same(JSON.parse(JSON.stringify(doc)), doc, 'the document is plain JSON (no TypeBox symbols)')
})

test('the default event needs no event field', async (t) => {
  const { doc } = await documented(t, (app) => {
    app.get('/chat', { sse: { events: { message: Type.String(), typing: Done } } }, (request, reply) => reply.sse([]))
  })
  const [message, typing] = doc.paths['/chat'].get.responses['200'].content['text/event-stream'].itemSchema.oneOf
  t.same(message.required, ['data'])
  t.same(typing.required, ['event', 'data'])
})

test('other responses, other routes and the route itself are left alone', async (t) => {
  const shared = { params: Type.Object({ id: Type.String() }), response: { 404: Type.Object({ message: Type.String() }) } }
  const { app, doc } = await documented(t, (app) => {
    app.get('/a/:id', { schema: shared, sse: { events: { done: Done } } }, (request, reply) => reply.sse([{ event: 'done', data: { ok: true } }]))
    app.get('/b/:id', { schema: shared }, async () => ({}))
    app.get('/plain', { sse: {} }, (request, reply) => reply.sse([]))
  })
  t.same(Object.keys(doc.paths['/a/{id}'].get.responses).sort(), ['200', '404'])
  t.notOk(doc.paths['/b/{id}'].get.responses['200']?.content?.['text/event-stream'], 'a route sharing the schema object is not affected')
  t.same(Object.keys(shared.response), ['404'], 'the shared schema object is not edited')
  t.notOk(doc.paths['/plain'].get.responses['200']?.content?.['text/event-stream'], 'routes without events are not documented as streams')
  const { events } = await injectEvents(app, '/a/1')
  t.same(events.map((e) => e.data), ['{"ok":true}'], 'the route still streams')
})

test('a declared 200 response listing other media types gains the stream; one without media types is kept', async (t) => {
  const { doc } = await documented(t, (app) => {
    app.get('/both', {
      schema: { response: { 200: { content: { 'application/json': { schema: Done } } } } },
      sse: { events: { done: Done } }
    }, (request, reply) => reply.sse([]))
    app.get('/mine', { schema: { response: { 200: Done } }, sse: { events: { done: Done } } }, (request, reply) => reply.sse([]))
  })
  t.same(Object.keys(doc.paths['/both'].get.responses['200'].content).sort(), ['application/json', 'text/event-stream'])
  t.same(Object.keys(doc.paths['/mine'].get.responses['200'].content), ['application/json'])
})
