// Runs the operations guide's proxy setup (test/readme/proxy-caps.mjs behind a real nginx with
// test/readme/nginx-forwarded.conf.txt): with trustProxy set to the proxy's address, the
// per-key cap counts each client (each on its own loopback address here), not the proxy, and a
// client cannot escape its cap by forging X-Forwarded-For.
import { test } from 'tap'
import http from 'node:http'
import { readFileSync } from 'node:fs'
import { requireNginx, startNginx } from './helpers/nginx.mjs'
import { until } from './helpers/wait.mjs'

const LOCATION = readFileSync(new URL('./readme/nginx-forwarded.conf.txt', import.meta.url), 'utf8')

/** An event-stream GET through the proxy from the loopback address `from`. */
function stream (port, from, headers = {}) {
  const out = { text: '', ended: false }
  const req = http.get({ host: '127.0.0.1', port, path: '/events/feed', localAddress: from, agent: false, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
    res.setEncoding('utf8')
    res.on('data', (chunk) => { out.text += chunk })
    res.on('end', () => { out.ended = true })
  })
  req.on('error', () => {})
  out.destroy = () => req.destroy()
  return out
}

test('behind nginx, the per-key cap counts clients, not the proxy', async (t) => {
  if (!requireNginx(t)) return
  const { app } = await import('./readme/proxy-caps.mjs')
  t.teardown(() => app.close())
  const ips = []
  app.addHook('onRequest', async (request) => { ips.push(request.ip) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const nginx = await startNginx(t, `
    upstream app { server 127.0.0.1:${app.server.address().port}; keepalive 32; }
    server {
      LISTEN;
${LOCATION}
    }`)
  const ann = Array.from({ length: 4 }, () => stream(nginx.port, '127.0.0.2'))
  await until(() => app.sse.openStreams === 4, 'four streams from one client')
  const fifth = stream(nginx.port, '127.0.0.2')
  await until(() => fifth.ended, 'the fifth stream of the same client to be refused')
  t.match(fifth.text, /^:\n\nretry: \d+\n\n$/, 'told to come back later')
  const forged = stream(nginx.port, '127.0.0.2', { 'x-forwarded-for': '10.9.9.9' })
  await until(() => forged.ended, 'a forged address to be refused too')
  t.equal(app.sse.metrics().streamsEnded.limit, 2)
  const bob = stream(nginx.port, '127.0.0.3')
  await until(() => app.sse.openStreams === 5, 'another client is not affected')
  t.ok(ips.includes('127.0.0.2') && ips.includes('127.0.0.3'), `request.ip is the client's: ${[...new Set(ips)]}`)
  t.notOk(ips.includes('10.9.9.9'), 'never the forged address')
  for (const s of [...ann, bob]) s.destroy()
  await until(() => app.sse.openStreams === 0, 'every stream closed')
})
