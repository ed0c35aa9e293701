// The example app: one Fastify instance serving the pages and the four scenarios' APIs.
// A factory, so `server.mjs` can listen on a port and the tests can start copies of it.
import Fastify from 'fastify'
import sse from 'fastify-typed-sse'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildRoutes } from './lib/builds.mjs'
import { memoryDashboardState, redisDashboardState } from './lib/dashboard-state.mjs'
import { dashboardRoutes } from './lib/dashboard.mjs'
import { jobRoutes } from './lib/jobs.mjs'
import { metricsRoute } from './lib/metrics.mjs'
import { notificationRoutes } from './lib/notifications.mjs'
import { pageEventsRoute } from './lib/page-events.mjs'
import { sessions } from './lib/session.mjs'
import { serveStatic } from './lib/static.mjs'
import { tokenRoutes } from './lib/tokens.mjs'

const PUBLIC = join(dirname(fileURLToPath(import.meta.url)), 'public')

/**
 * @param {object} [options]
 * @param {import('fastify-typed-sse').ReplayStore} [options.store] the replay store (default: the plugin's memory store); yours to close
 * @param {import('ioredis').Redis} [options.redis] with a Redis store: keeps the dashboard snapshot in Redis too, so instances agree
 * @param {boolean | object} [options.logger] Fastify's logger option
 * @param {string | Buffer} [options.sessionSecret] signs session cookies; instances that share users must share it
 * @param {number} [options.publishIntervalMs] dashboard simulator period; 0 turns it off
 * @param {object} [options.dashboardReplay] the dashboard stream's replay settings
 * @param {number} [options.retryMs] reconnection delay sent to EventSource clients
 * @param {number} [options.tokenDelayMs] pause between generated tokens
 */
export async function buildApp ({
  store,
  redis,
  logger = false,
  sessionSecret,
  publishIntervalMs = 1000,
  dashboardReplay = { maxEvents: 500, maxAgeMs: 10 * 60_000 },
  retryMs = 1000,
  tokenDelayMs = 30
} = {}) {
  const app = Fastify({ logger })
  await app.register(sse, { store, retryMs })
  app.decorateRequest('user', null)

  app.get('/api/info', async () => ({ store: redis === undefined ? 'memory' : 'redis', pid: process.pid }))

  jobRoutes(app)
  await app.register(buildRoutes)
  const dashboard = dashboardRoutes(app, {
    state: redis === undefined ? memoryDashboardState() : redisDashboardState(redis),
    replay: dashboardReplay,
    publishIntervalMs
  })
  const users = sessions(sessionSecret)
  const inbox = notificationRoutes(app, { sessions: users })
  pageEventsRoute(app, { sessions: users, dashboard, inbox })
  tokenRoutes(app, { tokenDelayMs })
  metricsRoute(app)
  serveStatic(app, PUBLIC)
  return app
}
