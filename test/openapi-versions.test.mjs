// The generated document of an SSE route is valid for each version @fastify/swagger writes
// (Swagger 2.0, OpenAPI 3.0.3, 3.1.0, 3.2.0), checked against the official schemas of each
// version, and carries the events in the form that version allows.
import { test } from 'tap'
import Fastify from 'fastify'
import swagger from '@fastify/swagger'
import { Validator } from '@seriousme/openapi-schema-validator'
import { Type } from 'typebox'
import { Type as Type034 } from '@sinclair/typebox'
import sse from 'fastify-typed-sse'
import { swaggerModes } from './helpers/swagger-modes.mjs'

const events = {
  progress: Type.Object({ step: Type.String(), percent: Type.Integer({ minimum: 0, maximum: 100 }) }),
  done: Type034.Object({ ok: Type034.Boolean() }),
  message: Type.String()
}
const ITEM = 'x-sse-item-schema'

const modes = swaggerModes

async function documentIn (t, mode) {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(swagger, modes[mode])
  await app.register(sse)
  app.get('/jobs/:id/progress', {
    schema: { params: Type.Object({ id: Type.String() }), response: { 404: Type.Object({ message: Type.String() }) } },
    sse: { events }
  }, (request, reply) => reply.sse([]))
  app.get('/plain', async () => ({ ok: true }))
  await app.ready()
  return app.swagger()
}

async function verdict (doc) {
  const validator = new Validator()
  const result = await validator.validate(structuredClone(doc))
  return { valid: result.valid, version: validator.version, errors: result.errors }
}

/** The event names a oneOf branch list requires (swagger may write a const as a one-value enum). */
const namesOf = (itemSchema) => itemSchema.oneOf.map((b) => b.properties.event.const ?? b.properties.event.enum?.[0])

test('the validator knows every version tested here', async (t) => {
  t.same([...Validator.supportedVersions].sort(), ['2.0', '3.0', '3.1', '3.2'])
})

for (const mode of ['3.0.3', '3.1.0']) {
  test(`OpenAPI ${mode}: valid; a string body, the events in ${ITEM} and an example stream`, async (t) => {
    const doc = await documentIn(t, mode)
    t.equal(doc.openapi, mode)
    const result = await verdict(doc)
    t.same(result.errors, undefined, 'no schema errors')
    t.equal(result.valid, true)
    const ok = doc.paths['/jobs/{id}/progress'].get.responses['200']
    const media = ok.content['text/event-stream']
    t.same(media.schema, { type: 'string' })
    t.notOk('itemSchema' in media, 'no 3.2-only field')
    t.same(namesOf(media[ITEM]), ['progress', 'done', 'message'])
    t.equal(media.example, 'event: progress\ndata: {"step":"string","percent":0}\n\nevent: done\ndata: {"ok":true}\n\ndata: "string"\n\n')
    t.match(ok.description, /`progress`: data `\{"step":"string","percent":0\}`/)
    t.ok(doc.paths['/jobs/{id}/progress'].get.responses['404'], 'other responses stay')
  })
}

test('OpenAPI 3.2.0: valid; itemSchema describes each event', async (t) => {
  const doc = await documentIn(t, '3.2.0')
  const result = await verdict(doc)
  t.same(result.errors, undefined, 'no schema errors')
  t.equal(result.valid, true)
  const media = doc.paths['/jobs/{id}/progress'].get.responses['200'].content['text/event-stream']
  t.same(media.schema, { type: 'string' })
  t.same(namesOf(media.itemSchema), ['progress', 'done', 'message'])
  t.notOk(ITEM in media, 'the extension gives way to the real field')
  t.same(media.itemSchema.oneOf[1].properties.data.contentSchema, { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' } } })
})

test('Swagger 2.0: valid; the response is a string schema carrying the events', async (t) => {
  const doc = await documentIn(t, '2.0')
  t.equal(doc.swagger, '2.0')
  const result = await verdict(doc)
  t.same(result.errors, undefined, 'no schema errors')
  t.equal(result.valid, true)
  const ok = doc.paths['/jobs/{id}/progress'].get.responses['200']
  t.equal(ok.schema.type, 'string')
  t.notOk('content' in ok.schema, 'no OpenAPI 3 fields in the schema')
  t.same(namesOf(ok.schema[ITEM]), ['progress', 'done', 'message'])
  t.match(ok.description, /`done`: data `\{"ok":true\}`/)
  t.match(ok.schema.example, /^event: done\ndata: \{"ok":true\}\n\n/m, 'the example stream, as swagger-ui shows it')
  t.same(doc.paths['/jobs/{id}/progress'].get.produces, ['text/event-stream'], 'the operation produces an event stream')
})

test('a route with its own swaggerTransform: it runs first, then the events are added in the form of the version', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(swagger, modes['3.2.0'])
  await app.register(sse)
  app.get('/mine', { config: { swaggerTransform: ({ schema, url }) => ({ schema: { ...schema, summary: 'mine' }, url }) }, sse: { events } },
    (request, reply) => reply.sse([]))
  await app.ready()
  const get = app.swagger().paths['/mine'].get
  t.equal(get.summary, 'mine')
  t.ok(get.responses['200'].content['text/event-stream'].itemSchema, 'the 3.2 form')
  t.equal((await verdict(app.swagger())).valid, true)
})

test('the output samples of docs/typed-routes.md are what each mode generates', async (t) => {
  const { readFileSync } = await import('node:fs')
  const { compactJson } = await import('./helpers/compact-json.mjs')
  const { docSection } = await import('./helpers/readme.mjs')
  const section = docSection('docs/typed-routes.md', 'OpenAPI')
  for (const [file, mode] of [['openapi-2.0.txt', '2.0'], ['openapi-3.0.txt', '3.1.0'], ['openapi-3.2.txt', '3.2.0']]) {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(swagger, modes[mode])
    await app.register(sse)
    app.get('/builds/:id/log', { sse: { events: { finished: Type.Object({ ok: Type.Boolean() }) } } }, (request, reply) => reply.sse([]))
    await app.ready()
    const sample = readFileSync(new URL(`readme/${file}`, import.meta.url), 'utf8')
    t.equal(compactJson(app.swagger().paths['/builds/{id}/log'].get.responses['200']) + '\n', sample, file)
    t.ok(section.includes('```json\n' + sample + '```'), `${file} is in the guide`)
  }
})
