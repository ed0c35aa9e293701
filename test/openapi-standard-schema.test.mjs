// An SSE route next to fastify-type-provider-zod, set up as its README says (its validator and
// serializer compilers, its jsonSchemaTransform for @fastify/swagger): the app starts, the Zod
// params are documented as parameters, and the events of every library are documented, in
// every document version @fastify/swagger writes, each valid against its official schema.
import { test } from 'tap'
import Fastify from 'fastify'
import swagger from '@fastify/swagger'
import { Validator } from '@seriousme/openapi-schema-validator'
import { z } from 'zod'
import * as v from 'valibot'
import { type } from 'arktype'
import { Type } from 'typebox'
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import sse from 'fastify-typed-sse'
import { injectEvents } from 'fastify-typed-sse/testing'
import { swaggerModes } from './helpers/swagger-modes.mjs'

const ITEM = 'x-sse-item-schema'
const events = {
  progress: z.object({ step: z.string(), percent: z.number().int().min(0).max(100) }),
  note: v.object({ text: v.string() }),
  done: type({ ok: 'boolean' }),
  legacy: Type.Object({ n: Type.Integer() }),
  stamped: z.string().transform((s) => new Date(s))
}

async function appIn (t, mode, { provider = true } = {}) {
  const app = Fastify()
  t.teardown(() => app.close())
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  // The provider's transform refuses Swagger 2.0 documents (for every route), so no 2.0 user has it.
  await app.register(swagger, mode === '2.0' || !provider ? swaggerModes[mode] : { ...swaggerModes[mode], transform: jsonSchemaTransform })
  await app.register(sse)
  app.get('/jobs/:id/progress', {
    schema: {
      params: z.object({ id: z.string().min(1) }),
      querystring: z.object({ from: z.coerce.number().int().optional() }),
      response: { 404: z.object({ message: z.string() }) }
    },
    sse: { events }
  }, (request, reply) => reply.sse([
    { event: 'progress', data: { step: request.params.id, percent: request.query.from ?? 0 } },
    { event: 'done', data: { ok: true } }
  ]))
  // A route without events has no transform of ours: without the provider's, its Zod schemas cannot be documented.
  if (mode !== '2.0' && provider) {
    app.get('/plain/:id', { schema: { params: z.object({ id: z.string() }), response: { 200: z.object({ id: z.string() }) } } },
      (request) => ({ id: request.params.id }))
  }
  await app.ready()
  return app
}

async function verdict (doc) {
  const validator = new Validator()
  const result = await validator.validate(structuredClone(doc))
  return { valid: result.valid, errors: result.errors }
}

/** The `data` schema of each event, by name, from an item schema. */
function dataSchemas (itemSchema) {
  return Object.fromEntries(itemSchema.oneOf.map((b) => [b.properties.event.const ?? b.properties.event.enum?.[0], b.properties.data.contentSchema]))
}

test('the app starts with the Zod serializer compiler, and the route streams and validates its Zod params', async (t) => {
  const app = await appIn(t, '3.1.0')
  const { events: got } = await injectEvents(app, '/jobs/a/progress?from=5')
  t.same(got.map((e) => [e.type, JSON.parse(e.data)]), [['progress', { step: 'a', percent: 5 }], ['done', { ok: true }]])
  const bad = await app.inject('/jobs/a/progress?from=x')
  t.equal(bad.statusCode, 400, 'the Zod querystring is validated by the provider')
  t.same((await app.inject('/plain/b')).json(), { id: 'b' }, 'other routes keep the Zod serializer')
})

for (const mode of Object.keys(swaggerModes)) {
  test(`${mode}: valid; the Zod params documented as parameters, each event's data schema documented`, async (t) => {
    const app = await appIn(t, mode)
    const doc = app.swagger()
    const result = await verdict(doc)
    t.same(result.errors, undefined, 'no schema errors')
    t.equal(result.valid, true)
    const get = doc.paths['/jobs/{id}/progress'].get
    t.same(get.parameters.map((p) => [p.in, p.name]).sort(), [['path', 'id'], ['query', 'from']], 'not `def` and `type`')
    const ok = get.responses['200']
    const items = mode === '2.0' ? ok.schema[ITEM] : mode === '3.2.0' ? ok.content['text/event-stream'].itemSchema : ok.content['text/event-stream'][ITEM]
    const data = dataSchemas(items)
    t.same(Object.keys(data), ['progress', 'note', 'done', 'legacy', 'stamped'])
    t.match(data.progress, { type: 'object', properties: { step: { type: 'string' }, percent: { type: 'integer', minimum: 0, maximum: 100 } } })
    t.match(data.note, { type: 'object', properties: { text: { type: 'string' } } })
    t.match(data.done, { type: 'object', properties: { ok: { type: 'boolean' } } })
    t.match(data.legacy, { type: 'object', properties: { n: { type: 'integer' } } })
    t.match(data.stamped.description, /no JSON Schema form/, 'a schema with a transform is documented as any JSON, saying why')
    t.ok(get.responses['404'], 'the Zod 404 response stays')
    t.notMatch(JSON.stringify(doc), /"def"|"~standard"|"_zod"/, 'no schema library internals anywhere')
  })
}

test('without the provider transform, Standard Schemas of the request parts are converted all the same', async (t) => {
  const app = await appIn(t, '3.0.3', { provider: false })
  const doc = app.swagger()
  t.equal((await verdict(doc)).valid, true)
  t.same(doc.paths['/jobs/{id}/progress'].get.parameters.map((p) => p.name).sort(), ['from', 'id'])
})

test('TypeBox events next to the Zod provider: the app starts, and the Zod params are documented as parameters', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  await app.register(swagger, { ...swaggerModes['3.1.0'], transform: jsonSchemaTransform })
  await app.register(sse)
  app.get('/jobs/:id', { schema: { params: z.object({ id: z.string() }) }, sse: { events: { done: Type.Object({ ok: Type.Boolean() }) } } },
    (request, reply) => reply.sse([{ event: 'done', data: { ok: true } }]))
  await app.ready()
  const doc = app.swagger()
  t.same(doc.paths['/jobs/{id}'].get.parameters.map((p) => [p.in, p.name]), [['path', 'id']])
  t.equal((await verdict(doc)).valid, true)
  const { events: got } = await injectEvents(app, '/jobs/1')
  t.same(got.map((e) => e.data), ['{"ok":true}'])
})

test('the route\'s Zod schemas are documented as the provider documents them on its other routes (its OpenAPI 3.0 dialect: nullable)', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  await app.register(swagger, { ...swaggerModes['3.0.3'], transform: jsonSchemaTransform })
  await app.register(sse)
  const NotFound = z.object({ message: z.string().nullable() })
  app.get('/jobs/:id', { schema: { params: z.object({ id: z.string() }), response: { 404: NotFound } }, sse: { events: { done: z.object({ ok: z.boolean() }) } } },
    (request, reply) => reply.sse([]))
  app.get('/plain/:id', { schema: { params: z.object({ id: z.string() }), response: { 404: NotFound } } }, async () => ({}))
  await app.ready()
  const doc = app.swagger()
  const notFound = (path) => doc.paths[path].get.responses['404'].content['application/json'].schema
  t.same(notFound('/jobs/{id}').properties.message, { type: 'string', nullable: true })
  t.same(notFound('/jobs/{id}'), notFound('/plain/{id}'), 'the same as the route without events')
  t.ok(doc.paths['/jobs/{id}'].get.responses['200'].content['text/event-stream'], 'and the stream is there too')
  t.equal((await verdict(doc)).valid, true)
})
