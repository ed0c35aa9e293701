// Per-user notifications: one keyed stream, whose key is the logged-in user taken from the
// signed session cookie. The client never names the stream it reads, so it cannot read anyone
// else's, live or on replay.
import { Type } from '@sinclair/typebox'
import { UserName, inboxEvents } from './events.mjs'

export function notificationRoutes (app, { sessions }) {
  const inbox = app.sse.stream('inbox', {
    events: inboxEvents,
    key: (request) => request.user
  })

  app.post('/api/session', { schema: { body: Type.Object({ name: UserName }) } }, async (request, reply) => {
    sessions.login(reply, request.body.name)
    return { user: request.body.name }
  })

  app.delete('/api/session', async (request, reply) => {
    sessions.logout(reply)
    return { user: null }
  })

  // Asking whether one is logged in is not an error either way: 200 with the answer. (The
  // stream and sending do need a session, and answer 401 without one.)
  app.get('/api/session', async (request) => {
    const user = sessions.userOf(request)
    return user === undefined ? { signedIn: false, user: null } : { signedIn: true, user }
  })

  // preHandler runs before the handler: a stranger gets a plain 401, and no stream ever starts.
  app.get('/api/notifications/stream', { preHandler: sessions.requireUser }, (request, reply) =>
    reply.sse.subscribe(inbox))

  app.post('/api/notifications', {
    preHandler: sessions.requireUser,
    schema: { body: Type.Object({ to: UserName, text: Type.String({ minLength: 1, maxLength: 500 }) }) }
  }, async (request, reply) => {
    const { to, text } = request.body
    const stored = await inbox.publish({ event: 'note', data: { from: request.user, text, at: Date.now() } }, { key: to })
    return reply.code(201).send({ id: stored.id })
  })
  return inbox
}
