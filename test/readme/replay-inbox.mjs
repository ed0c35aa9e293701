import { Type } from '@sinclair/typebox'

const Note = Type.Object({ text: Type.String(), urgent: Type.Boolean() })

export default async function inbox (app) {
  // One stream per user: the key comes from the authenticated request, never from the client.
  const notes = app.sse.stream('inbox', {
    events: { note: Note },
    key: (request) => request.user.id
  })

  app.get('/inbox/stream', (request, reply) => reply.sse.subscribe(notes, {
    // Applied to replayed and live events alike.
    filter: (event) => request.query.urgent !== 'only' || event.data.urgent,
    // The client missed too much: send it a snapshot before live events resume.
    onReset: async ({ send }) => {
      for (const note of await app.loadNotes(request.user.id)) send({ event: 'note', data: note })
    }
  }))

  // Publishing names the key: check that this sender may write to that user's inbox.
  app.post('/inbox/:user', async (request, reply) => {
    if (!(await app.mayWriteTo(request.user, request.params.user))) return reply.code(403).send({ error: 'forbidden' })
    await notes.publish({ event: 'note', data: request.body }, { key: request.params.user })
    return { ok: true }
  })
}
