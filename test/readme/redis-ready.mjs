import { Redis } from 'ioredis'
import { redisStore } from 'fastify-typed-sse/redis'

const redis = new Redis(process.env.REDIS_URL ?? 'redis://sse-app:change-me@127.0.0.1:6379')
const store = redisStore({ client: redis, onError: (err) => console.error(err.message) })
try {
  // Rejects with FST_SSE_STORE_NOPERM (e.g. "…needs the Redis ACL permission to run PUBLISH,
  // SUBSCRIBE") or, when Redis cannot be reached, FST_SSE_STORE_TIMEOUT.
  await store.ready()
  console.log('the Redis user has every permission the store needs')
} finally {
  await store.close()
  await redis.quit()
}
