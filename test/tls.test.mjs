// Streams over TLS: HTTPS with HTTP/1.1, and an HTTP/2 server that also takes HTTP/1.1 clients
// (allowHTTP1), where the same route answers both protocols. The certificate in fixtures/ is a
// self-signed one for 127.0.0.1, made for these tests only.
import { test } from 'tap'
import https from 'node:https'
import http2 from 'node:http2'
import { readFileSync } from 'node:fs'
import { decodeEvents } from 'fastify-typed-sse/testing'
import { build } from './helpers/app.mjs'

const key = readFileSync(new URL('./fixtures/tls-key.pem', import.meta.url))
const cert = readFileSync(new URL('./fixtures/tls-cert.pem', import.meta.url))

const expected = [['tick', 'one ✓', '1'], ['tick', '{"n":2,"text":"deux €"}', '2'], ['message', 'three 😀\nlines', '3']]

function route (app) {
  app.get('/', (request, reply) => reply.sse([
    { event: 'tick', id: 1, data: 'one ✓' },
    { event: 'tick', id: 2, data: { n: 2, text: 'deux €' } },
    { id: 3, data: 'three 😀\nlines' }
  ]))
}

function getHttp1 (port) {
  return new Promise((resolve, reject) => {
    https.get({ host: '127.0.0.1', port, path: '/', ca: cert, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => { body += chunk })
      res.on('end', () => resolve({ headers: res.headers, body }))
    }).on('error', reject)
  })
}

function getHttp2 (port) {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca: cert })
    session.on('error', reject)
    const stream = session.request({ ':path': '/' })
    let body = ''
    stream.setEncoding('utf8')
    stream.on('data', (chunk) => { body += chunk })
    stream.on('end', () => { session.close(); resolve({ body }) })
    stream.on('error', reject)
  })
}

const events = (body) => decodeEvents(body).map((e) => [e.type, e.data, e.lastEventId])

test('HTTPS with HTTP/1.1: every event arrives, in chunks', async (t) => {
  const app = await build(t, {}, { https: { key, cert } })
  route(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { headers, body } = await getHttp1(app.server.address().port)
  t.equal(headers['transfer-encoding'], 'chunked')
  t.same(events(body), expected)
})

test('an HTTP/2 server that allows HTTP/1.1 serves both protocols the same events', async (t) => {
  const app = await build(t, {}, { http2: true, https: { key, cert, allowHTTP1: true } })
  route(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = app.server.address().port
  const [one, two] = await Promise.all([getHttp1(port), getHttp2(port)])
  t.same(events(one.body), expected, 'HTTP/1.1')
  t.same(events(two.body), expected, 'HTTP/2')
})
