// Responses node:http does not send in chunked encoding get their body from node:http itself:
// a HEAD request gets the head and no body, an HTTP/1.0 client gets the events unframed and
// the end of the stream as the end of the connection. Both are written byte for byte here.
import { test } from 'tap'
import net from 'node:net'
import { once } from 'node:events'
import { build, listen } from './helpers/app.mjs'

/** An app whose one route streams three events and ends; answers its port. */
async function threeEvents (t) {
  const app = await build(t)
  app.get('/', (request, reply) => reply.sse(async function * () {
    for (let i = 1; i <= 3; i++) yield { id: i, data: `event ${i} ✓` }
  }))
  return listen(app)
}

/** Sends `request` as is and collects everything the server sends until it closes the connection. */
async function exchange (port, request) {
  const socket = net.connect(port, '127.0.0.1')
  socket.write(request)
  const chunks = []
  socket.on('data', (chunk) => chunks.push(chunk))
  await once(socket, 'close')
  const raw = Buffer.concat(chunks)
  const split = raw.indexOf('\r\n\r\n')
  return { head: raw.subarray(0, split).toString('latin1'), body: raw.subarray(split + 4).toString('utf8') }
}

test('a HEAD request gets the stream\'s head and no body', async (t) => {
  const port = await threeEvents(t)
  const { head, body } = await exchange(port, 'HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.match(head, /^HTTP\/1\.1 200 /)
  t.match(head, /content-type: text\/event-stream/i)
  t.equal(body, '', 'not a byte of body')
})

test('an HTTP/1.0 client gets the events unframed, and the stream ends with the connection', async (t) => {
  const port = await threeEvents(t)
  const { head, body } = await exchange(port, 'GET / HTTP/1.0\r\nHost: x\r\n\r\n')
  t.match(head, /^HTTP\/1\.1 200 /)
  t.notMatch(head, /transfer-encoding/i, 'no chunked encoding for HTTP/1.0')
  // After the opening frame, exactly the three events, as the encoder wrote them.
  const events = body.slice(body.indexOf('id: 1'))
  t.equal(events, 'id: 1\ndata: event 1 ✓\n\nid: 2\ndata: event 2 ✓\n\nid: 3\ndata: event 3 ✓\n\n')
})

test('an HTTP/1.1 client gets the same events in chunks', async (t) => {
  const port = await threeEvents(t)
  const { head, body } = await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.match(head, /transfer-encoding: chunked/i)
  // De-chunked by hand: size line, bytes, CRLF; a zero-size chunk last.
  let rest = Buffer.from(body, 'utf8')
  let text = ''
  for (;;) {
    const eol = rest.indexOf('\r\n')
    const size = parseInt(rest.subarray(0, eol).toString('latin1'), 16)
    t.ok(Number.isInteger(size), `a chunk size line: ${JSON.stringify(rest.subarray(0, eol).toString('latin1'))}`)
    if (size === 0) {
      t.equal(rest.subarray(eol).toString('latin1'), '\r\n\r\n', 'the last chunk ends the body')
      break
    }
    text += rest.subarray(eol + 2, eol + 2 + size).toString('utf8')
    t.equal(rest.subarray(eol + 2 + size, eol + 4 + size).toString('latin1'), '\r\n', 'each chunk ends with CRLF')
    rest = rest.subarray(eol + 4 + size)
  }
  t.equal(text.slice(text.indexOf('id: 1')), 'id: 1\ndata: event 1 ✓\n\nid: 2\ndata: event 2 ✓\n\nid: 3\ndata: event 3 ✓\n\n')
})
