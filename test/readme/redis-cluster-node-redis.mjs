import Fastify from 'fastify'
import { createCluster } from 'redis'
import sse from 'fastify-typed-sse'
import { redisStore } from 'fastify-typed-sse/redis'

const rootNodes = (process.env.REDIS_CLUSTER ?? '127.0.0.1:7000').split(',').map((address) => ({ url: `redis://${address}` }))
const redis = createCluster({ rootNodes })
redis.on('error', (err) => console.error('redis:', err.message))
await redis.connect()
const store = redisStore({ client: redis })

const app = Fastify()
await app.register(sse, { store })
app.addHook('onClose', async () => {
  await store.close()
  await redis.close()
})

const chat = app.sse.stream('chat')
app.get('/chat', (request, reply) => reply.sse.subscribe(chat))
app.post('/chat', async (request) => chat.publish({ data: request.body }))

process.once('SIGTERM', () => app.close())
const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '127.0.0.1' })
console.log(`listening on ${address}`)
