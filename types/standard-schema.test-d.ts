import Fastify from 'fastify'
import { z } from 'zod'
import * as v from 'valibot'
import { type } from 'arktype'
import { Type } from '@sinclair/typebox'
import type { StandardSchemaV1 as PublishedStandardSchema } from '@standard-schema/spec'
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import { expectAssignable, expectError, expectType } from 'tsd'
import sse, { type EventData, type EventGenerator, type EventItem, type StoredEvent, type WireOf } from 'fastify-typed-sse'
import { createSseClient } from 'fastify-typed-sse/client'
import type { StandardSchemaV1 as CopiedStandardSchema } from '../dist/esm/typed/standard-schema.js'

// Standard Schema values (Zod 4, Valibot 1, ArkType 2): item types come from each schema's
// own types, with no type provider. A handler yields the schema's input; clients and stream
// filters see its output (what validation returns, and so what is sent).

const zodEvents = {
  progress: z.object({ step: z.string(), percent: z.number().int().min(0).max(100) }),
  done: z.object({ ok: z.boolean(), note: z.string().optional() })
}
const valibotEvents = {
  progress: v.object({ step: v.string(), percent: v.pipe(v.number(), v.integer()) }),
  done: v.object({ ok: v.boolean(), note: v.optional(v.string()) })
}
const arktypeEvents = {
  progress: type({ step: 'string', percent: '0 <= number.integer <= 100' }),
  done: type({ ok: 'boolean', 'note?': 'string' })
}

const app = Fastify()
app.register(sse)

expectType<{ step: string, percent: number }>({} as EventData<typeof zodEvents>['progress'])
expectType<{ step: string, percent: number }>({} as EventData<typeof valibotEvents>['progress'])
expectType<{ step: string, percent: number }>({} as EventData<typeof arktypeEvents>['progress'])
expectType<{ ok: boolean, note?: string | undefined }>({} as EventData<typeof zodEvents>['done'])
expectType<{ ok: boolean, note?: string | undefined }>({} as EventData<typeof valibotEvents>['done'])
expectType<{ ok: boolean, note?: string }>({} as EventData<typeof arktypeEvents>['done'])

// Zod.
app.get('/zod', { sse: { events: zodEvents } }, (request, reply) => reply.sse(async function * () {
  yield { event: 'progress', data: { step: 'a', percent: 1 } }
  yield { event: 'done', data: { ok: true } }
}))
expectError(app.get('/zod1', { sse: { events: zodEvents } }, (request, reply) => reply.sse([{ event: 'progres', data: { step: 'a', percent: 1 } }])))
expectError(app.get('/zod2', { sse: { events: zodEvents } }, (request, reply) => reply.sse([{ event: 'progress', data: { step: 'a' } }])))
expectError(app.get('/zod3', { sse: { events: zodEvents } }, (request, reply) => reply.sse([{ event: 'done', data: { ok: 'yes' } }])))

// Valibot.
app.get('/valibot', { sse: { events: valibotEvents } }, (request, reply) => reply.sse([{ event: 'done', data: { ok: true, note: 'n' } }]))
expectError(app.get('/valibot1', { sse: { events: valibotEvents } }, (request, reply) => reply.sse([{ event: 'nope', data: { ok: true } }])))
expectError(app.get('/valibot2', { sse: { events: valibotEvents } }, (request, reply) => reply.sse([{ event: 'progress', data: { step: 'a', percent: '1' } }])))

// ArkType (its schemas are functions).
app.get('/arktype', { sse: { events: arktypeEvents } }, (request, reply) => reply.sse([{ event: 'progress', data: { step: 'a', percent: 1 } }]))
expectError(app.get('/arktype1', { sse: { events: arktypeEvents } }, (request, reply) => reply.sse([{ event: 'done', data: {} }])))
expectError(app.get('/arktype2', { sse: { events: arktypeEvents } }, (request, reply) => reply.sse([{ event: 'done', data: { ok: 1 } }])))

// An annotated generator reports a bad item at its `yield`.
async function * annotated (): EventGenerator<typeof zodEvents> {
  yield { event: 'progress', data: { step: 'a', percent: 2 } }
  expectError(yield { event: 'progress', data: { step: 1, percent: 2 } })
}
app.get('/annotated', { sse: { events: zodEvents } }, (request, reply) => reply.sse(annotated()))

// Mixed with TypeBox in one map.
const mixed = { zod: z.object({ a: z.string() }), valibot: v.number(), arktype: type('boolean'), typebox: Type.Object({ b: Type.Integer() }) }
app.get('/mixed', { sse: { events: mixed } }, (request, reply) => reply.sse([
  { event: 'zod', data: { a: 'x' } },
  { event: 'valibot', data: 1 },
  { event: 'arktype', data: true },
  { event: 'typebox', data: { b: 1 } }
]))
expectError(app.get('/mixed1', { sse: { events: mixed } }, (request, reply) => reply.sse([{ event: 'valibot', data: 'one' }])))
expectError(app.get('/mixed2', { sse: { events: mixed } }, (request, reply) => reply.sse([{ event: 'typebox', data: { b: 'one' } }])))

// Transforms: the handler yields the input; the wire carries the output.
const stamped = { at: z.string().transform((s) => s.length), seen: v.pipe(v.string(), v.transform((s) => s.length)), when: type('string').pipe((s) => s.length) }
app.get('/transforms', { sse: { events: stamped } }, (request, reply) => reply.sse([
  { event: 'at', data: '2020' },
  { event: 'seen', data: 'x' },
  { event: 'when', data: 'y' }
]))
expectError(app.get('/transforms1', { sse: { events: stamped } }, (request, reply) => reply.sse([{ event: 'at', data: 4 }])))
expectType<number>({} as WireOf<typeof stamped.at>)
expectType<number>({} as WireOf<typeof stamped.seen>)
expectType<number>({} as WireOf<typeof stamped.when>)
expectType<string>({} as EventData<typeof stamped>['when'])

// A route declared through fastify-type-provider-zod, with Zod params and querystring.
const zapp = Fastify().withTypeProvider<ZodTypeProvider>()
zapp.setValidatorCompiler(validatorCompiler)
zapp.setSerializerCompiler(serializerCompiler)
zapp.register(sse)
zapp.get('/jobs/:id/progress', {
  schema: { params: z.object({ id: z.string() }), querystring: z.object({ from: z.coerce.number().optional() }) },
  sse: { events: zodEvents }
}, (request, reply) => {
  expectType<string>(request.params.id)
  expectType<number | undefined>(request.query.from)
  return reply.sse(async function * () {
    yield { event: 'progress', data: { step: request.params.id, percent: request.query.from ?? 0 } }
  })
})
expectError(zapp.get('/jobs/:id/bad', { schema: { params: z.object({ id: z.string() }) }, sse: { events: zodEvents } }, (request, reply) =>
  reply.sse([{ event: 'progress', data: { step: 1, percent: 0 } }])))
zapp.route({
  method: 'GET',
  url: '/route/:id',
  schema: { params: z.object({ id: z.string() }) },
  sse: { events: zodEvents },
  handler: (request, reply) => reply.sse([{ event: 'done', data: { ok: request.params.id === 'x' } }])
})

// Typed replay streams: publish() takes the input, filters read the output, snapshots are checked.
const clocks = app.sse.stream('clocks', { events: { tick: z.object({ n: z.number() }), at: z.string().transform((s) => s.length) } })
expectType<Promise<StoredEvent>>(clocks.publish({ event: 'tick', data: { n: 1 } }))
expectType<Promise<StoredEvent>>(clocks.publish({ event: 'at', data: 'now' }))
expectError(clocks.publish({ event: 'tick', data: { n: '1' } }))
expectError(clocks.publish({ event: 'tock', data: { n: 1 } }))
const arkStream = app.sse.stream('ark', { events: { n: type('number') } })
expectError(arkStream.publish({ event: 'n', data: '1' }))
app.get('/clocks', (request, reply) => reply.sse.subscribe(clocks, {
  filter: (event) => {
    expectType<{ n: number } | number>(event.data)
    return true
  },
  onReset: ({ send }) => {
    send({ event: 'tick', data: { n: 0 } })
    expectError(send({ event: 'tick', data: { n: 'zero' } }))
  }
}))

// The typed client reads what is sent: the output.
const client = createSseClient<typeof stamped & typeof zodEvents>('/transforms')
client.on('at', (data) => expectType<number>(data))
client.on('progress', (data) => expectType<{ step: string, percent: number }>(data))
expectError(client.on('nope', () => {}))

// The interface copied into the package matches the published one.
expectAssignable<PublishedStandardSchema<{ a: string }, number>>({} as CopiedStandardSchema<{ a: string }, number>)
expectAssignable<CopiedStandardSchema<{ a: string }, number>>({} as PublishedStandardSchema<{ a: string }, number>)
expectAssignable<EventItem<typeof zodEvents>>({ event: 'done', data: { ok: true } })
