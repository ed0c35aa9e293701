import Fastify from 'fastify'
import { Type, type Static } from 'typebox'
import { Type as Type034 } from '@sinclair/typebox'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { expectError, expectType } from 'tsd'
import sse, { type EventData, type EventGenerator, type EventItem, type SseRouteReply, type TypeBox1NeedsTypeProvider } from 'fastify-typed-sse'
import { createSseClient } from 'fastify-typed-sse/client'

// TypeBox 1.x (`typebox`, what @fastify/type-provider-typebox 6 re-exports): its static types
// come through the route's type provider, as for Fastify's own schemas.
const Params = Type.Object({ id: Type.String() })
const Progress = Type.Object({ step: Type.String(), percent: Type.Integer({ minimum: 0, maximum: 100 }) })
const Done = Type.Object({ ok: Type.Boolean(), note: Type.Optional(Type.String()) })
const events = { progress: Progress, done: Done }

const app = Fastify().withTypeProvider<TypeBoxTypeProvider>()
app.register(sse)

// One route: params and events from the same `Type`.
app.get('/jobs/:id/progress', { schema: { params: Params }, sse: { events } }, (request, reply) => {
  expectType<string>(request.params.id)
  return reply.sse(async function * () {
    yield { event: 'progress', data: { step: request.params.id, percent: 33 } }
    yield { event: 'done', data: { ok: true } }
  })
})
expectError(app.get('/bad1', { schema: { params: Params }, sse: { events } }, (request, reply) =>
  reply.sse([{ event: 'done', data: { ok: 'yes' } }])))
expectError(app.get('/bad2', { sse: { events } }, (request, reply) =>
  reply.sse([{ event: 'nope', data: { ok: true } }])))
expectError(app.get('/bad3', { sse: { events } }, (request, reply) =>
  reply.sse(async function * () { yield { event: 'progress', data: { step: 'a' } } })))
app.route({
  method: 'GET',
  url: '/route/:id',
  schema: { params: Params },
  sse: { events },
  handler: (request, reply) => reply.sse([{ event: 'progress', data: { step: request.params.id, percent: 0 } }])
})

// Pushed streams.
app.get('/push', { sse: { events } }, (request, reply) => {
  const stream = reply.sse.open()
  stream.send({ event: 'done', data: { ok: true, note: 'x' } })
  expectError(stream.send({ event: 'done', data: { ok: 1 } }))
  return stream.done
})

// Helper types take the provider as their second argument.
expectType<{ progress: Static<typeof Progress>, done: Static<typeof Done> }>({} as EventData<typeof events, TypeBoxTypeProvider>)
expectType<{ ok: boolean, note?: string }>({} as EventData<typeof events, TypeBoxTypeProvider>['done'])
async function handler (reply: SseRouteReply<typeof events, TypeBoxTypeProvider>): Promise<void> {
  await reply.sse([{ event: 'done', data: { ok: true } }])
}
expectType<Promise<void>>(handler({} as SseRouteReply<typeof events, TypeBoxTypeProvider>))
const item: EventItem<typeof events, TypeBoxTypeProvider> = { event: 'progress', data: { step: 's', percent: 1 } }
expectType<{ step: string, percent: number }>(item.data)

// Without a provider that knows TypeBox 1.x, the data type says what to do, and no item compiles.
expectType<TypeBox1NeedsTypeProvider>({} as EventData<typeof events>['done'])
const plain = Fastify()
plain.register(sse)
expectError(plain.get('/no-provider', { sse: { events } }, (request, reply) =>
  reply.sse([{ event: 'done', data: { ok: true } }])))

// TypeBox 0.34 schemas keep their own static types on the same provider, and may share a map with 1.x ones.
const mixed = { legacy: Type034.Object({ n: Type034.Number() }), done: Done }
app.get('/mixed', { sse: { events: mixed } }, (request, reply) => reply.sse([
  { event: 'legacy', data: { n: 1 } },
  { event: 'done', data: { ok: false } }
]))
expectError(app.get('/mixed-bad', { sse: { events: mixed } }, (request, reply) =>
  reply.sse([{ event: 'legacy', data: { n: 'one' } }])))

// The browser client: the provider as second type argument.
const client = createSseClient<typeof events, TypeBoxTypeProvider>('/jobs/1/progress')
client.on('progress', (data) => expectType<number>(data.percent))

// A generator annotated with EventGenerator reports a bad item at its own `yield`.
app.get('/annotated', { sse: { events } }, (request, reply) =>
  reply.sse(async function * (): EventGenerator<typeof events, TypeBoxTypeProvider> {
    yield { event: 'progress', data: { step: 'a', percent: 1 } }
    expectError(yield { event: 'done', data: { ok: 'yes' } })
    expectError(yield { event: 'nope', data: { ok: true } })
  }))

// Replay streams declared on an instance with the provider: publish, filters and onReset snapshots are typed.
const feed = app.sse.stream('jobs', { events })
feed.publish({ event: 'progress', data: { step: 'a', percent: 5 } })
expectError(feed.publish({ event: 'progress', data: { step: 'a', percent: 'five' } }))
expectError(feed.publish({ event: 'nope', data: { ok: true } }))
app.sse.publish(feed, { event: 'done', data: { ok: true } })
expectError(app.sse.publish(feed, { event: 'done', data: { ok: 'yes' } }))
app.get('/feed', (request, reply) => reply.sse.subscribe(feed, {
  filter: (event) => event.event !== 'done',
  onReset: ({ send }) => {
    send({ event: 'done', data: { ok: true } })
    expectError(send({ event: 'done', data: { ok: 1 } }))
  }
}))
const perUser = app.sse.stream('mail', { events, key: (request) => request.id })
perUser.publish({ event: 'done', data: { ok: true } }, { key: 'u1' })
expectError(perUser.publish({ event: 'done', data: { ok: true } }))

// Declared on an instance without one, the data type says what to do, and nothing compiles.
const untyped = plain.sse.stream('jobs', { events })
expectError(untyped.publish({ event: 'done', data: { ok: true } }))
