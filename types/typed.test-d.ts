import Fastify, { type ContextConfigDefault, type FastifyReply, type FastifySchema } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { expectAssignable, expectError, expectNotAssignable, expectType } from 'tsd'
import sse, { type EventData, type EventItem, type SseRouteReply, type SseStream } from 'fastify-typed-sse'

const Progress = Type.Object({ step: Type.String(), percent: Type.Integer({ minimum: 0, maximum: 100 }) })
const Done = Type.Object({ ok: Type.Boolean() })
const events = { progress: Progress, done: Done }

const app = Fastify()
app.register(sse)

// The shorthand with options: items are checked against the map.
app.get('/jobs/:id/progress', { sse: { events: { progress: Progress, done: Done } } }, async (request, reply) =>
  reply.sse(async function * () {
    yield { event: 'progress', data: { step: 'Validating', percent: 33 } }
    yield { event: 'done', data: { ok: true }, id: 7 }
    yield { comment: 'keep-alive' }
    yield { id: 'reset-point' }
    yield { retry: 1000 }
  }))

// A generator whose items all have a known shape, and an array source.
app.get('/array', { sse: { events } }, (request, reply) =>
  reply.sse([{ event: 'done', data: { ok: false } }]))

// Pushed streams are typed the same way.
app.get('/push', { sse: { events } }, (request, reply) => {
  const stream = reply.sse.open()
  expectType<SseStream<EventItem<typeof events>>>(stream)
  stream.send({ event: 'progress', data: { step: 'a', percent: 1 } })
  expectError(stream.send({ event: 'progress', data: { step: 'a' } }))
  expectError(stream.send({ event: 'nope', data: {} }))
  return stream.done
})

// A wrong event name, a missing field, a field of the wrong type, data on the wrong event.
expectError(app.get('/e1', { sse: { events } }, (request, reply) =>
  reply.sse([{ event: 'progres', data: { step: 'a', percent: 1 } }])))
expectError(app.get('/e2', { sse: { events } }, (request, reply) =>
  reply.sse([{ event: 'progress', data: { step: 'a' } }])))
expectError(app.get('/e3', { sse: { events } }, (request, reply) =>
  reply.sse([{ event: 'progress', data: { step: 'a', percent: '33' } }])))
expectError(app.get('/e4', { sse: { events } }, (request, reply) =>
  reply.sse([{ event: 'done', data: { step: 'a', percent: 1 } }])))
expectError(app.get('/e5', { sse: { events } }, (request, reply) =>
  reply.sse(async function * () { yield { event: 'done', data: { ok: 'yes' } } })))
// An event without data, and data without an event when the map has no `message` event.
expectError(app.get('/e6', { sse: { events } }, (request, reply) => reply.sse([{ event: 'done' }])))
expectError(app.get('/e7', { sse: { events } }, (request, reply) => reply.sse([{ data: { ok: true } }])))

// The default event: a `message` schema allows items without an event name.
const chat = { message: Type.Object({ text: Type.String() }), typing: Type.Object({ user: Type.String() }) }
app.get('/chat', { sse: { events: chat } }, (request, reply) => reply.sse([
  { data: { text: 'hi' } },
  { event: 'message', data: { text: 'hi' } },
  { event: 'typing', data: { user: 'ada' } }
]))
expectError(app.get('/chat2', { sse: { events: chat } }, (request, reply) => reply.sse([{ data: { user: 'ada' } }])))

// A producer function gets its context and must yield map items.
app.get('/fn', { sse: { events, validate: false, serialize: false, onInvalid: 'skip' } }, (request, reply) =>
  reply.sse(async function * ({ signal, lastEventId }) {
    expectType<AbortSignal>(signal)
    expectType<string | undefined>(lastEventId)
    yield { event: 'progress', data: { step: 'x', percent: 50 } }
  }))
expectError(app.get('/bad-policy', { sse: { events, onInvalid: 'ignore' } }, (request, reply) => reply.sse([])))

// Options carrying their handler, and app.route().
app.get('/with-handler', {
  sse: { events },
  handler: (request, reply) => reply.sse([{ event: 'done', data: { ok: true } }])
})
expectError(app.get('/with-handler-bad', {
  sse: { events },
  handler: (request, reply) => reply.sse([{ event: 'done', data: { ok: 1 } }])
}))
app.route({
  method: 'GET',
  url: '/route',
  sse: { events },
  handler: (request, reply) => reply.sse([{ event: 'progress', data: { step: 'r', percent: 0 } }])
})
expectError(app.route({
  method: 'GET',
  url: '/route-bad',
  sse: { events },
  handler: (request, reply) => reply.sse([{ event: 'progress', data: { step: 'r', percent: 'none' } }])
}))

// Explicit route generics stop TypeScript from inferring the event map: the map then comes from
// RouteGeneric's `Events` member, and a route without one does not compile (never silently untyped).
app.get<{ Params: { id: string }, Events: typeof events }>('/generic/:id', { sse: { events } }, (request, reply) => {
  expectType<string>(request.params.id)
  return reply.sse([{ event: 'done', data: { ok: true } }])
})
expectError(app.get<{ Params: { id: string }, Events: typeof events }>('/generic-bad/:id', { sse: { events } }, (request, reply) =>
  reply.sse([{ event: 'nope', data: { ok: 'yes' } }])))
expectError(app.get<{ Params: { id: string } }>('/generic-unmapped/:id', { sse: { events } }, (request, reply) =>
  reply.sse([{ event: 'done', data: { ok: true } }])))
expectError(app.get<{ Params: { id: string } }>('/generic-unmapped-bad/:id', { sse: { events } }, (request, reply) =>
  reply.sse([{ event: 'nope', data: { ok: 'yes' } }])))
// Or the map is given as the fourth type argument.
app.get<{ Params: { id: string } }, ContextConfigDefault, FastifySchema, typeof events>('/explicit/:id', { sse: { events } }, (request, reply) => {
  expectType<string>(request.params.id)
  return reply.sse([{ event: 'done', data: { ok: true } }])
})
expectError(app.get<{ Params: { id: string } }, ContextConfigDefault, FastifySchema, typeof events>('/explicit-bad/:id', { sse: { events } },
  (request, reply) => reply.sse([{ event: 'done', data: { ok: 'yes' } }])))
// Schemas still type the request next to the event map.
app.get('/schema/:id', { schema: { params: { type: 'object', properties: { id: { type: 'string' } } } }, sse: { events } }, (request, reply) =>
  reply.sse([{ event: 'done', data: { ok: true } }]))
// Routes without an event map keep the untyped items.
app.get('/plain', { sse: {} }, (request, reply) => reply.sse([{ event: 'anything', data: 1 }]))
app.get('/plain-options', { sse: { validate: false } }, (request, reply) => reply.sse([{ data: 'x' }]))

// Helper types.
expectType<{ progress: { step: string, percent: number }, done: { ok: boolean } }>({} as EventData<typeof events>)
expectAssignable<EventItem<typeof events>>({ event: 'done', data: { ok: true }, id: 1, retry: 5, comment: 'c' })
expectNotAssignable<EventItem<typeof events>>({ event: 'done', data: { ok: true }, id: true })
expectNotAssignable<EventItem<typeof events>>({ event: 'other', data: { ok: true } })
expectType<Static<typeof Done>>({} as EventData<typeof events>['done'])

// A handler written apart from its route.
async function progressHandler (reply: SseRouteReply<typeof events>): Promise<void> {
  await reply.sse([{ event: 'done', data: { ok: true } }])
  expectError(reply.sse([{ event: 'done', data: {} }]))
}
app.get('/apart', { sse: { events } }, (request, reply) => progressHandler(reply))
expectAssignable<SseRouteReply<typeof events>>({} as FastifyReply)
