// One event stream per page: a page asks for its feeds by name (GET /api/events?topics=dashboard,bell)
// and gets all of them on one connection, each resumed on its own through the browser's
// Last-Event-ID. Every page shows the signed-in user's notification bell next to its own feeds,
// so a page costs one connection, not one per feed.
export function pageEventsRoute (app, { sessions, dashboard, inbox }) {
  app.get('/api/events', { preHandler: sessions.identify }, (request, reply) => reply.sse.subscribeTopics({
    // A page that took a snapshot starts the dashboard at the snapshot's position.
    dashboard: { stream: dashboard, from: request.query.dashboardFrom },
    // The bell is the user's inbox, keyed by the session: a visitor without one gets a 403.
    bell: { stream: inbox, authorize: (request) => request.user !== null }
  }, { select: request.query.topics }))
}
