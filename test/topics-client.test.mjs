// The typed many-topic client over a real connection: handlers per topic and event, the topic
// and event of each message, changing the set with positions kept, reset notices per topic.
import { test } from 'tap'
import { EventSource } from 'undici'
import { createTopicsClient } from 'fastify-typed-sse/client'
import { topicsApp } from './helpers/topics.mjs'
import { until } from './helpers/wait.mjs'

test('handlers per topic; setTopics keeps the positions of the topics still asked for', async (t) => {
  const { app, publish } = await topicsApp(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = app.server.address().port
  const client = createTopicsClient(`http://127.0.0.1:${port}/events?user=ann`, { EventSource, topics: ['dashboard', 'bell'] })
  t.teardown(() => client.close())
  const got = []
  const positions = []
  for (const topic of ['dashboard', 'bell', 'chat']) {
    client.on(topic, 'e', (data, message) => {
      got.push(`${message.topic}/${message.event}:${data.n}`)
      positions.push(message.position)
    })
  }
  await until(() => app.sse.metrics().subscribers === 2, 'live')
  const stored = [await publish('dashboard'), await publish('bell', 'ann')]
  await until(() => got.length === 2, 'two events')
  t.same(got, ['dashboard/e:1', 'bell/e:2'])
  t.same(positions, stored.map((e) => e.id), 'each message gives its topic\'s own position, as the stream\'s ids read')
  t.same(client.topics, ['dashboard', 'bell'])
  await publish('bell', 'ann') // n 3, maybe received before the switch, never twice
  await publish('chat') // n 4, before chat is asked for: never received
  client.setTopics(['bell', 'chat'])
  await until(() => client.source.readyState === 1 && app.sse.metrics().subscribers === 2 && app.sse.metrics().openStreams === 1, 'the new set live, the old stream gone')
  await publish('chat')
  await publish('dashboard') // no longer asked for
  await publish('bell', 'ann')
  await until(() => got.length === 5, 'the rest').catch((err) => { t.comment(got); throw err })
  t.same(got, ['dashboard/e:1', 'bell/e:2', 'bell/e:3', 'chat/e:5', 'bell/e:7'])
  t.ok(new URL(client.source.url ?? 'http://x/?topics=bell,chat').searchParams.get('topics') === 'bell,chat')
})

test('reset notices per topic, and parse errors reported', async (t) => {
  const { app, publish } = await topicsApp(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = app.server.address().port
  const client = createTopicsClient(`http://127.0.0.1:${port}/events?user=ann&lastEventId=garbage`, { EventSource, topics: ['dashboard', 'chat'] })
  t.teardown(() => client.close())
  const resets = []
  client.onReset('dashboard', (notice, message) => resets.push([message.topic, notice.reason]))
  client.onReset('chat', (notice, message) => resets.push([message.topic, notice.reason]))
  const errors = []
  client.onError((error) => errors.push(error.type))
  await until(() => resets.length === 2, 'two reset notices')
  t.same(resets.sort(), [['chat', 'malformed'], ['dashboard', 'malformed']])
  t.match(client.lastEventId, /^[0-9A-Za-z_-]{6}/, 'the cursor of the last notice')
  client.on('chat', 'e', () => {})
  await until(() => app.sse.metrics().subscribers === 2, 'live')
  await app.sse.publish('chat', { event: 'e', data: 'not json' })
  await until(() => errors.length === 1, 'the parse error')
  t.same(errors, ['parse'])
  await publish('chat')
})

test('without an EventSource: a coded TypeError', async (t) => {
  t.throws(() => createTopicsClient('http://127.0.0.1:1/e', { topics: ['a'], EventSource: undefined }), { code: 'FST_SSE_NO_EVENTSOURCE' })
})

test('the server\'s error event reaches onError', async (t) => {
  const { app } = await topicsApp(t, {
    routes: (app) => app.get('/fails', (request, reply) => reply.sse([{ event: 'error', data: { message: 'gone' } }]))
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const client = createTopicsClient(`http://127.0.0.1:${app.server.address().port}/fails`, { EventSource, topics: ['x'] })
  t.teardown(() => client.close())
  const errors = []
  client.onError((error) => errors.push(error))
  await until(() => errors.some((e) => e.type === 'server'), 'the server error')
  t.same(errors.find((e) => e.type === 'server').data, { message: 'gone' })
})
