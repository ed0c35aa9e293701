import Fastify from 'fastify'
import { Cluster } from 'ioredis'
import sse from 'fastify-typed-sse'
import { redisStore } from 'fastify-typed-sse/redis'

// A few of the cluster's nodes, e.g. "10.0.0.1:6379,10.0.0.2:6379": the client finds the rest.
const nodes = (process.env.REDIS_CLUSTER ?? '127.0.0.1:7000').split(',').map((address) => {
  const [host, port] = address.split(':')
  return { host, port: Number(port) }
})
const redis = new Cluster(nodes)
const store = redisStore({ client: redis })

const app = Fastify()
await app.register(sse, { store })
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
