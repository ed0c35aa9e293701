// Shared pieces of the many-topic tests: an app with three topics (one keyed by the user, one
// the user may be refused), events that say which topic and key they were published to, and a
// check that a client's events of each topic follow each other exactly.
import Fastify from 'fastify'
import sse, { parseCursor } from 'fastify-typed-sse'

export const userOf = (request) => request.query.user ?? 'anon'

/**
 * An app serving GET /events?topics=a,b&user=u: `dashboard` (one stream), `bell` (keyed by the
 * user) and `chat` (refused to the user `guest`).
 */
export async function topicsApp (t, { store, plugin = {}, streams = {}, routes, app = Fastify() } = {}) {
  await app.register(sse, { store, ...plugin })
  const dashboard = app.sse.stream('dashboard', streams.dashboard ?? {})
  const bell = app.sse.stream('bell', { key: userOf, ...streams.bell })
  const chat = app.sse.stream('chat', streams.chat ?? {})
  const catalogue = {
    dashboard,
    bell: { stream: bell },
    chat: { stream: chat, authorize: (request) => userOf(request) !== 'guest' }
  }
  app.get('/events', (request, reply) => reply.sse.subscribeTopics(catalogue, { select: request.query.topics }))
  routes?.(app, { dashboard, bell, chat })
  t.teardown(() => app.close())
  await app.ready()
  const streamsByName = { dashboard, bell, chat }
  let n = 0
  /** Publishes one event to `topic` (for `user` on the keyed one); its data names both. */
  const publish = (topic, user) => {
    const key = topic === 'bell' ? user : undefined
    const data = { topic, key: key ?? null, n: ++n }
    return streamsByName[topic].publish({ event: 'e', data }, key === undefined ? undefined : { key })
  }
  return { app, dashboard, bell, chat, publish }
}

/** The received events of one topic, in order: `{ type: 'event' | 'reset', data, lastEventId }`. */
export function ofTopic (events, topic) {
  return events
    .filter((e) => e.type.startsWith(topic + '.'))
    .map((e) => ({ type: e.type === `${topic}.reset` ? 'reset' : 'event', data: JSON.parse(e.data), lastEventId: e.lastEventId }))
}

/** The store id (`<epoch>:<offset>`) of an event, given the cursor it came with and its topic's tag. */
export function positionIn (cursor, tag) {
  const entry = parseCursor(cursor)?.get(tag)
  return entry?.status === 'ok' ? `${entry.epoch}:${entry.offset}` : undefined
}
