import { test } from 'tap'
import Fastify from 'fastify'
import { setTimeout as sleep } from 'node:timers/promises'
import sse from 'fastify-typed-sse'
import { decodeEvents } from 'fastify-typed-sse/testing'
import { bodyOf, listen, producerCounter, rawGet } from './helpers/app.mjs'
import { until } from './helpers/wait.mjs'

function infinite (producers) {
  return async function * ({ signal }) {
    producers.started++
    try {
      for (let i = 0; ; i++) {
        yield { id: i, data: i }
        await sleep(20, undefined, { signal })
      }
    } catch {
      // aborted
    } finally {
      producers.finished++
    }
  }
}

test('fastify.close() ends every open stream, writing the shutdown event, and resolves', async (t) => {
  const app = Fastify()
  await app.register(sse, { shutdownEvent: { event: 'shutdown', retry: 5000, data: 'bye' } })
  const producers = producerCounter()
  app.get('/', (request, reply) => reply.sse(infinite(producers)))
  app.get('/push', (request, reply) => reply.sse.open().done)
  const port = await listen(app)
  const clients = Array.from({ length: 100 }, (_, i) => rawGet(port, i % 2 ? '/' : '/push'))
  await until(() => app.sse.openStreams === 100, '100 open streams')
  // close() must not wait for clients that would never leave on their own: if it hangs, the test times out.
  await app.close()
  t.equal(app.sse.openStreams, 0)
  await until(() => producers.running === 0, 'every producer to finish')
  t.equal(producers.finished, 50)
  await Promise.all(clients.map((c) => c.closed))
  const lastEvents = clients.map((c) => decodeEvents(bodyOf(c.text)).at(-1))
  t.ok(lastEvents.every((e) => e?.type === 'shutdown' && e.data === 'bye'), 'each client got the shutdown event last')
  t.ok(clients.every((c) => c.text.endsWith('\r\n0\r\n\r\n')), 'then a clean end of the response')
})

test('a stream started while closing is ended at once', async (t) => {
  const app = Fastify({ return503OnClosing: false })
  await app.register(sse)
  let handlerRan
  const gate = new Promise((resolve) => { handlerRan = resolve })
  let closingStarted
  const closing = new Promise((resolve) => { closingStarted = resolve })
  // Added after the plugin's own preClose hook, so it runs once the plugin knows it is closing.
  app.addHook('preClose', async () => { closingStarted() })
  let result
  app.get('/', async (request, reply) => {
    handlerRan()
    await closing
    result = await reply.sse(async function * () { yield { data: 'late' } })
  })
  const port = await listen(app)
  const client = rawGet(port, '/')
  await gate
  await app.close()
  await client.closed
  t.equal(result?.reason, 'shutdown')
})

test('close() with no streams is unaffected, and a closed app leaves no timers', async (t) => {
  const app = Fastify()
  await app.register(sse, { heartbeatMs: 10 })
  app.get('/', (request, reply) => reply.sse([{ data: 'x' }]))
  const res = await app.inject('/')
  t.same(decodeEvents(res.body).map((e) => e.data), ['x'])
  await app.close()
  t.equal(app.sse.openStreams, 0)
})
