// Connection on a real node:http response, where it frames its own chunks and writes them to
// the socket: what the client reads, and when it reaches the socket. node:http holds every
// write of a tick until the tick ends; a connection hands its first write of a tick to the
// socket at once (a publish reaches its first subscribers while the pass over the others goes
// on) and still merges the rest of that tick into one write at its end.
import { test } from 'tap'
import http from 'node:http'
import { once } from 'node:events'
import { Connection } from './lib.mjs'
import { until } from '../helpers/wait.mjs'
import { pick, rng } from '../helpers/rng.mjs'

const limits = { heartbeatMs: 0, stallTimeoutMs: 0, maxBufferedBytes: 1024 * 1024 }

/** A node:http response with its head sent and received, and the text its client has read. */
async function openResponse (t) {
  const server = http.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const request = http.get({ host: '127.0.0.1', port: server.address().port, path: '/' })
  request.on('error', () => {})
  const [, res] = await once(server, 'request')
  res.writeHead(200, { 'content-type': 'text/event-stream' })
  res.flushHeaders()
  const [response] = await once(request, 'response')
  const client = { text: '' }
  response.setEncoding('utf8')
  response.on('data', (chunk) => { client.text += chunk })
  return { res, socket: res.socket, client }
}

function nextTurn () {
  return new Promise((resolve) => setImmediate(resolve))
}

test('the first write of a tick is handed to the socket at once; the rest of the tick leaves in one write at its end', async (t) => {
  const { res, socket, client } = await openResponse(t)
  const conn = new Connection(res, limits, 0)
  t.equal(conn.push('data: 1\n\n'), true)
  t.equal(socket.writableLength, 0, 'the first event is with the kernel before push() returns')
  conn.push('data: 2\n\n')
  conn.push('data: 3\n\n')
  t.ok(socket.writableLength > 0, 'the next ones wait for the end of the tick')
  t.equal(socket.writableCorked, 1, 'held by the one cork node:http releases at the end of the tick')
  await nextTurn()
  t.equal(socket.writableCorked, 0, 'released')
  t.equal(socket.writableLength, 0, 'and written')
  await until(() => client.text.includes('data: 3'), 'the three events')
  t.equal(client.text, 'data: 1\n\ndata: 2\n\ndata: 3\n\n', 'in order, nothing lost')

  t.equal(conn.push('data: 4\n\n'), true)
  t.equal(socket.writableLength, 0, 'the first write of the next tick leaves at once again')
  await nextTurn()
  t.equal(socket.writableCorked, 0)
})

test('the end-of-tick batch of a pulled stream leaves in one write, and the socket is not left corked', async (t) => {
  const { res, socket, client } = await openResponse(t)
  const conn = new Connection(res, limits, 0)
  for (let i = 0; i < 10; i++) conn.write(`data: ${i}\n\n`)
  t.equal(socket.writableLength, 0, 'nothing reached the socket yet: the batch is written at the end of the tick')
  await nextTurn()
  t.equal(socket.writableCorked, 0)
  t.equal(socket.writableLength, 0)
  await until(() => client.text.includes('data: 9'), 'the batch')
  conn.end('end')
  await once(res, 'finish')
  t.equal(socket.writableCorked, 0, 'ending leaves no cork behind')
})

test('a cork the application holds is left to it', async (t) => {
  const { res, socket, client } = await openResponse(t)
  const conn = new Connection(res, limits, 0)
  socket.cork()
  conn.push('data: held\n\n')
  t.equal(socket.writableCorked, 1, 'still the application\'s one cork')
  t.ok(socket.writableLength > 0, 'so the event waits for it')
  await nextTurn()
  t.equal(socket.writableCorked, 1, 'the end of the tick does not release it either')
  socket.uncork()
  await until(() => client.text.includes('data: held'), 'the event, once the application uncorks')
  t.equal(socket.writableCorked, 0)
})

test('a refused first write still waits for drain, and nothing is lost', async (t) => {
  const { res, socket, client } = await openResponse(t)
  const conn = new Connection(res, { ...limits, maxBufferedBytes: 64 * 1024 * 1024 }, 0)
  // Far more than the socket takes at once: write() answers false, the connection is blocked.
  const big = 'data: ' + 'x'.repeat(4 * 1024 * 1024) + '\n\n'
  t.equal(conn.push(big), false, 'refused')
  let writable = false
  conn.whenWritable().then(() => { writable = true })
  await until(() => writable, 'drain')
  t.equal(socket.writableCorked, 0)
  await until(() => client.text.length >= big.length, 'the whole event')
  t.ok(client.text.includes('x'.repeat(1000) + '\n\n'), 'its end arrived')
})

test('whatever the text and however the writes fall into ticks, the client reads exactly what was written', async (t) => {
  const seed = Number(process.env.SEED ?? Date.now() % 1_000_000)
  t.comment(`seed ${seed}`)
  const next = rng(seed)
  const { res, client } = await openResponse(t)
  const conn = new Connection(res, { ...limits, maxBufferedBytes: 64 * 1024 * 1024 }, 0)
  // One-byte, two-byte, three-byte and four-byte (surrogate pair) characters, line breaks, runs.
  const pieces = ['a', 'é', '€', '中文', '😀', '\n', '\r\n', 'x'.repeat(100), '']
  let expected = ''
  for (let round = 0; round < 300; round++) {
    const writes = Math.floor(next() * 6)
    for (let w = 0; w < writes; w++) {
      // Mostly small texts, now and then one past the batch size.
      const length = Math.floor(next() * (next() < 0.05 ? 70_000 : 300))
      let text = ''
      while (text.length < length) text += pick(next, pieces)
      expected += text
      if (next() < 0.5) conn.push(text)
      else conn.write(text)
    }
    if (next() < 0.3) await nextTurn()
    if (!conn.flush()) await conn.whenWritable()
  }
  await until(() => client.text.length >= expected.length, 'everything written', 30_000)
  t.equal(client.text.length, expected.length, `seed ${seed}: as many characters as written`)
  t.ok(client.text === expected, `seed ${seed}: the same text`)
  t.equal(conn.closed, false)
})
