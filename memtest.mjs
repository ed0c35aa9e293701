import Fastify from 'fastify'
import sse from 'fastify-typed-sse'
import net from 'node:net'
const variant = process.argv[2]
const app = Fastify()
await app.register(sse)
const subs = new Set()
app.get('/raw', (req, reply) => { reply.hijack(); reply.raw.writeHead(200, {'content-type':'text/event-stream'}); reply.raw.write(': ok\n\n'); subs.add(reply.raw); reply.raw.on('close', () => subs.delete(reply.raw)) })
app.get('/open-return', (req, reply) => { const s = reply.sse.open(); subs.add(s); s.signal.addEventListener('abort', () => subs.delete(s), {once:true}); return s.done })
app.get('/open-noreturn', (req, reply) => { const s = reply.sse.open(); subs.add(s); s.signal.addEventListener('abort', () => subs.delete(s), {once:true}) })
app.get('/gen', (req, reply) => reply.sse(async function * ({ signal }) { await new Promise(r => signal.addEventListener('abort', r)) }))
await app.listen({ port: 0 })
const port = app.server.address().port
const N = Number(process.env.N || 3000)
function gc () { globalThis.gc(); globalThis.gc() }
async function openN (path) {
  const socks = []
  for (let i = 0; i < N; i++) {
    socks.push(await new Promise((res) => { const s = net.connect(port, '127.0.0.1', () => { s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`); s.once('data', () => res(s)) }) }))
  }
  return socks
}
const warm = await openN('/' + variant); warm.forEach(s => s.destroy()); await new Promise(r => setTimeout(r, 300))
gc(); const before = process.memoryUsage().heapUsed
if (process.env.SNAP0) { const v8 = await import("node:v8"); v8.writeHeapSnapshot(process.env.SNAP0) }
const socks = await openN('/' + variant)
await new Promise(r => setTimeout(r, 300)); gc()
const after = process.memoryUsage().heapUsed
if (process.env.SNAP) { const v8 = await import("node:v8"); v8.writeHeapSnapshot(process.env.SNAP) }
console.log(variant, Math.round((after - before) / N), 'B/conn (includes client sockets)')
socks.forEach(s => s.destroy()); await app.close()
