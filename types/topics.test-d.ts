import Fastify from 'fastify'
import { Type } from '@sinclair/typebox'
import { expectError, expectType } from 'tsd'
import sse from 'fastify-typed-sse'
import { createTopicsClient, type TopicResetNotice, type TopicMessageLike } from 'fastify-typed-sse/client'

const app = Fastify()
app.register(sse)

const dashboardEvents = { stats: Type.Object({ orders: Type.Integer() }) }
const bellEvents = { notification: Type.Object({ text: Type.String() }), cleared: Type.Null() }
const dashboard = app.sse.stream('dashboard', { events: dashboardEvents })
const bell = app.sse.stream('bell', { events: bellEvents, key: (request) => request.ip })

// The server: topic name → stream, or stream with its options.
app.get('/events', (request, reply) => {
  expectType<Promise<void>>(reply.sse.subscribeTopics(
    { dashboard, bell: { stream: bell, authorize: () => true, filter: () => true } },
    { select: (request.query as { topics?: string }).topics }
  ))
  expectType<Promise<void>>(reply.sse.subscribeTopics({ dashboard }, { select: ['dashboard'] }))
  expectError(reply.sse.subscribeTopics({ dashboard }, { select: 1 }))
  expectError(reply.sse.subscribeTopics({ bell: { stream: bell, authorize: 'yes' } }))
})

// The browser: each topic's event map types its handlers.
const client = createTopicsClient<{ dashboard: typeof dashboardEvents, bell: typeof bellEvents }>('/events', { topics: ['dashboard', 'bell'] })
client.on('dashboard', 'stats', (data, message) => {
  expectType<number>(data.orders)
  expectType<TopicMessageLike>(message)
  expectType<string>(message.topic)
})
client.on('bell', 'notification', (data) => expectType<string>(data.text))
client.on('bell', 'cleared', (data) => expectType<null>(data))
expectError(client.on('bell', 'stats', () => {}))
expectError(client.on('chat', 'message', () => {}))
expectError(client.on('dashboard', 'stats', (data: { orders: string }) => data))
client.onReset('bell', (notice) => expectType<TopicResetNotice>(notice))
client.setTopics(['bell'])
expectError(client.setTopics(['chat']))
expectError(createTopicsClient<{ dashboard: typeof dashboardEvents }>('/events', { topics: ['bell'] }))

// Plain data types work as well as schemas.
const plain = createTopicsClient<{ chat: { message: { text: string } } }>('/chat', { topics: ['chat'] })
plain.on('chat', 'message', (data) => expectType<string>(data.text))
