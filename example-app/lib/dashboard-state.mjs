// The dashboard's current state, the "database" a page reloads after a reset notice. It is
// kept apart from the event history: replay covers short drops, this covers everything else.
// Every update is idempotent (set a value, add an alert by id), so a snapshot that already
// holds an event the page then receives again changes nothing.

const ALERTS = 8
const SERVICES = ['api', 'db', 'queue']

export function memoryDashboardState () {
  const metrics = {}
  const services = Object.fromEntries(SERVICES.map((s) => [s, 'up']))
  let alerts = []
  return {
    async apply ({ event, data }) {
      if (event === 'metric') metrics[data.name] = { value: data.value, at: data.at }
      else if (event === 'status') services[data.service] = data.state
      else if (event === 'alert') alerts = [data, ...alerts.filter((a) => a.id !== data.id)].slice(0, ALERTS)
    },
    async read () {
      return { metrics: structuredClone(metrics), services: { ...services }, alerts: structuredClone(alerts) }
    }
  }
}

/** The same state in Redis, so every instance sharing the store serves the same snapshot. */
export function redisDashboardState (redis, prefix = 'example:dashboard:') {
  const keys = { metrics: prefix + 'metrics', services: prefix + 'services', alerts: prefix + 'alerts' }
  let seeded
  const seed = () => (seeded ??= Promise.all(SERVICES.map((s) => redis.hsetnx(keys.services, s, 'up'))))
  return {
    async apply ({ event, data }) {
      await seed()
      if (event === 'metric') await redis.hset(keys.metrics, data.name, JSON.stringify({ value: data.value, at: data.at }))
      else if (event === 'status') await redis.hset(keys.services, data.service, data.state)
      else if (event === 'alert') await redis.multi().lpush(keys.alerts, JSON.stringify(data)).ltrim(keys.alerts, 0, ALERTS - 1).exec()
    },
    async read () {
      await seed()
      const [metrics, services, alerts] = await Promise.all([
        redis.hgetall(keys.metrics), redis.hgetall(keys.services), redis.lrange(keys.alerts, 0, ALERTS - 1)
      ])
      return {
        metrics: Object.fromEntries(Object.entries(metrics).map(([name, json]) => [name, JSON.parse(json)])),
        services,
        alerts: alerts.map((json) => JSON.parse(json))
      }
    }
  }
}
