// Run with --expose-gc --allow-natives-syntax (test/reply-api.test.mjs starts it): reports
// whether the `reply.sse` objects of two requests share one hidden class (an accessor defined
// on each would give each its own, a few hundred bytes apiece), and whether `reply.sse` is
// still reachable once its stream is open and the handler returned the stream's promise,
// which keeps the reply itself alive.
import Fastify from 'fastify'
import net from 'node:net'
import sse from 'fastify-typed-sse'

// V8's own check, parsed only under --allow-natives-syntax: kept in a string so that the
// module's source stays plain JavaScript for every other tool.
// eslint-disable-next-line no-new-func
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)')

const app = Fastify({ logger: false })
await app.register(sse)
let api
app.get('/open', (request, reply) => {
  const sseReply = reply.sse
  api = new WeakRef(sseReply)
  return sseReply.open().done
})
let kept
app.get('/other', (request, reply) => {
  kept = reply.sse
  return {}
})
let sameShape
app.get('/shape', async (request, reply) => {
  await app.inject({ url: '/other' })
  sameShape = haveSameMap(reply.sse, kept)
  return {}
})
await app.inject({ url: '/shape' })
await app.listen({ port: 0, host: '127.0.0.1' })
const socket = net.connect(app.server.address().port, '127.0.0.1')
socket.write('GET /open HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n')
// The opening frame: the stream is open and the handler has returned.
await new Promise((resolve) => socket.once('data', resolve))
// A WeakRef's target is kept until the end of the job that made it: collect in a later one.
await new Promise((resolve) => setImmediate(resolve))
globalThis.gc()
globalThis.gc()
const open = app.sse.openStreams
socket.destroy()
await app.close()
console.log(JSON.stringify({ sameShape, collected: api.deref() === undefined, open }))
