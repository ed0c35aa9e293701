import Fastify from 'fastify'
import { Redis } from 'ioredis'
import sse from 'fastify-typed-sse'
import { redisStore } from 'fastify-typed-sse/redis'

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
const store = redisStore({ client: redis })

const app = Fastify()
await app.register(sse, { store })
// A store passed in is yours to close, after the plugin has ended its streams.
app.addHook('onClose', async () => {
  await store.close()
  await redis.quit()
})

const chat = app.sse.stream('chat')
app.get('/chat', (request, reply) => reply.sse.subscribe(chat))
app.post('/chat', async (request) => chat.publish({ data: request.body }))

process.once('SIGTERM', () => app.close())
const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '127.0.0.1' })
console.log(`listening on ${address}`)
