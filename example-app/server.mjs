// `npm start`: the example app on PORT (default 3000) and HOST (default 127.0.0.1). With
// REDIS_URL set it keeps events (and the dashboard snapshot) in Redis, so several copies on
// different ports serve the same streams; give them the same SESSION_SECRET to share logins.
// DASHBOARD_PUBLISH_MS sets the dashboard simulator's period; 0 turns it off.
import { buildApp } from './app.mjs'

const port = Number(process.env.PORT ?? 3000)
const host = process.env.HOST ?? '127.0.0.1'
const options = { logger: { level: process.env.LOG_LEVEL ?? 'info' } }
if (process.env.SESSION_SECRET) options.sessionSecret = process.env.SESSION_SECRET
if (process.env.DASHBOARD_PUBLISH_MS) {
  const ms = Number(process.env.DASHBOARD_PUBLISH_MS)
  if (!(ms >= 0)) throw new Error(`DASHBOARD_PUBLISH_MS must be a number of milliseconds, got ${process.env.DASHBOARD_PUBLISH_MS}`)
  options.publishIntervalMs = ms
}

let release = async () => {}
if (process.env.REDIS_URL) {
  // Loaded only when asked for: the memory-store demo needs no Redis client at all.
  const { Redis } = await import('ioredis')
  const { redisStore } = await import('fastify-typed-sse/redis')
  const redis = new Redis(process.env.REDIS_URL)
  const store = redisStore({ client: redis, onError: (err) => console.error('redis store:', err.message) })
  options.store = store
  options.redis = redis
  release = async () => {
    await store.close()
    await redis.quit()
  }
}

const app = await buildApp(options)
// A store passed in is ours to close, after the plugin has ended its streams.
app.addHook('onClose', () => release())
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => app.close())

let address
try {
  address = await app.listen({ port, host })
} catch (err) {
  if (err.code !== 'EADDRINUSE') throw err
  await app.close()
  // One line that says what to do, rather than a stack trace.
  console.error(`Port ${port} on ${host} is already in use (by another copy of this app?): stop that server, or start on another port with PORT=${port === 65535 ? 3001 : port + 1} npm start`)
  process.exit(1)
}
app.log.info(`example app on ${address} (${process.env.REDIS_URL ? 'Redis store' : 'memory store'})`)
console.log(`The example app is ready: open ${address}/ in a browser (Ctrl-C stops it).`)
