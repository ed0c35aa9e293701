// Live dashboard: one replayed stream carrying three event types, fanned out to every page.
// Pages load a snapshot with the stream position it was taken at, then subscribe from that
// position, so nothing falls between the two; a reset notice sends them back to the snapshot.
import { randomUUID } from 'node:crypto'
import { DashboardInput, dashboardEvents } from './events.mjs'

export function dashboardRoutes (app, { state, replay, publishIntervalMs }) {
  const stream = app.sse.stream('dashboard', { events: dashboardEvents, replay })

  async function publish ({ event, data }) {
    const at = Date.now()
    const item = event === 'alert'
      ? { event, data: { id: randomUUID(), ...data, at } }
      : { event, data: { ...data, at } }
    // State first: a snapshot that reads the head before the state then never misses this event.
    await state.apply(item)
    return stream.publish(item)
  }

  app.get('/api/dashboard/snapshot', async () => {
    // Head before state: an event in between is in both, which the page applies idempotently.
    const head = await stream.head()
    return { head, state: await state.read() }
  })

  app.get('/api/dashboard/stream', (request, reply) => reply.sse.subscribe(stream))

  // Publishing on demand: the page's buttons, scripts and the tests use it.
  app.post('/api/dashboard/events', { schema: { body: DashboardInput } }, async (request, reply) => {
    const stored = await publish(request.body)
    return reply.code(201).send({ id: stored.id })
  })

  if (publishIntervalMs > 0) simulate(app, publish, publishIntervalMs)
  return stream
}

/** A stand-in for real telemetry: random-walk metrics, with an occasional status change or alert. */
function simulate (app, publish, intervalMs) {
  const metrics = { cpu: 35, rps: 120, latency_ms: 48 }
  const services = ['api', 'db', 'queue']
  const states = ['up', 'up', 'up', 'degraded', 'down']
  let tick = 0
  const timer = setInterval(() => {
    tick++
    const items = []
    for (const [name, value] of Object.entries(metrics)) {
      const next = Math.max(0, Math.round((value + (Math.random() - 0.5) * value * 0.2) * 10) / 10)
      metrics[name] = name === 'cpu' ? Math.min(100, next) : next
      items.push({ event: 'metric', data: { name, value: metrics[name] } })
    }
    if (tick % 7 === 0) {
      const service = services[Math.floor(Math.random() * services.length)]
      items.push({ event: 'status', data: { service, state: states[Math.floor(Math.random() * states.length)] } })
    }
    if (metrics.cpu > 45 && tick % 5 === 0) {
      items.push({ event: 'alert', data: { level: metrics.cpu > 60 ? 'critical' : 'warning', message: `cpu at ${metrics.cpu}%` } })
    }
    // One after the other, so the stream's order is the order they were made in.
    items.reduce((previous, item) => previous.then(() => publish(item)), Promise.resolve())
      .catch((err) => app.log.warn({ err }, 'dashboard simulator could not publish'))
  }, intervalMs)
  timer.unref()
  app.addHook('preClose', async () => clearInterval(timer))
}
