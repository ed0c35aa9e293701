import { Type } from '@sinclair/typebox'

export const dashboardEvents = { stats: Type.Object({ orders: Type.Integer(), revenue: Type.Number() }) }
export const bellEvents = { notification: Type.Object({ text: Type.String() }) }

export default async function topics (app) {
  const dashboard = app.sse.stream('dashboard', { events: dashboardEvents })
  // One bell per user: the key comes from the authenticated request, never from the client.
  const bell = app.sse.stream('bell', { events: bellEvents, key: (request) => request.user.id })
  const audit = app.sse.stream('audit')

  // Every topic a page may ask for, by name; each is authorized for the request on its own.
  const catalogue = {
    dashboard,
    bell: { stream: bell },
    audit: { stream: audit, authorize: (request) => request.user.admin === true }
  }

  // GET /events?topics=dashboard,bell: one event stream for every feed of the page. An unknown
  // name answers 404, a topic this user may not read 403, before any byte of the stream.
  app.get('/events', (request, reply) => reply.sse.subscribeTopics(catalogue, { select: request.query.topics }))

  app.post('/orders', async (request) => {
    await dashboard.publish({ event: 'stats', data: await app.orderStats() })
    await bell.publish({ event: 'notification', data: { text: 'New order' } }, { key: request.body.owner })
    return { ok: true }
  })
}
