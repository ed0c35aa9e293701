// What an application may do to `reply.raw` while a stream is open: end it, destroy it, cork it,
// replace its write(). HTTP/1.1 framing must hold whatever it does: nothing after the last
// chunk (the next response on a kept-alive socket must parse), no ERR_STREAM_WRITE_AFTER_END,
// and its own corked writes keep their place before the stream's. Run on Node 20 and 24.
import { test } from 'tap'
import net from 'node:net'
import { ServerResponse } from 'node:http'
import { bodyOf, build, listen } from './helpers/app.mjs'
import { failOnEscapes } from './helpers/escapes.mjs'
import { until } from './helpers/wait.mjs'

/** A kept-alive raw HTTP/1.1 socket: requests written one after the other, every byte read kept. */
function keepAlive (port) {
  const socket = net.connect(port, '127.0.0.1')
  const client = { socket, text: '' }
  socket.on('data', (chunk) => { client.text += chunk.toString('latin1') })
  socket.on('error', () => {})
  client.get = (path) => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`)
  return client
}

// Node's own write(), put back as a replacement: the stream then writes through res.write().
function throughResWrite (res) {
  res.write = function write (...args) { return ServerResponse.prototype.write.apply(this, args) }
}

const ENDS = {
  // The handler ends the response right after opening the stream, then keeps sending.
  'handler ends': async (app, seen, path) => {
    app.get('/s', (request, reply) => {
      if (path === 'res.write') throughResWrite(reply.raw)
      const stream = reply.sse.open()
      reply.raw.end()
      seen.sends = [stream.send({ data: 'after 1' }), stream.send({ data: 'after 2' })]
      return stream.done.then((result) => { seen.result = result })
    })
  },
  // A producer ends the response between two items and keeps yielding.
  'producer ends': async (app, seen, path) => {
    app.get('/s', async (request, reply) => {
      if (path === 'res.write') throughResWrite(reply.raw)
      seen.result = await reply.sse(async function * ({ reply }) {
        yield { data: 'before' }
        reply.raw.end()
        yield { data: 'after 1' }
        await new Promise((resolve) => setImmediate(resolve))
        yield { data: 'after 2' }
      })
    })
  },
  // A pushed stream whose handler ends the response a tick later, after a first event left.
  'ended later': async (app, seen, path) => {
    app.get('/s', (request, reply) => {
      if (path === 'res.write') throughResWrite(reply.raw)
      const stream = reply.sse.open()
      stream.send({ data: 'before' })
      setImmediate(() => {
        reply.raw.end()
        seen.sends = [stream.send({ data: 'after 1' })]
        setImmediate(() => { seen.sends.push(stream.send({ data: 'after 2' })) })
      })
      return stream.done.then((result) => { seen.result = result })
    })
  }
}

for (const path of ['chunks', 'res.write']) {
  for (const [how, route] of Object.entries(ENDS)) {
    test(`${how} (${path}): nothing is written after the application ended the response`, async (t) => {
      failOnEscapes(t)
      const app = await build(t, { heartbeatMs: 5 })
      const seen = {}
      await route(app, seen, path)
      app.get('/next', async () => 'next')
      const port = await listen(app)
      const client = keepAlive(port)
      client.get('/s')
      await until(() => seen.result && client.text.includes('\r\n0\r\n\r\n'), 'the stream to end')
      // Anything the stream wrote after the last chunk would sit before this response.
      client.get('/next')
      await until(() => client.text.endsWith('next'), 'the next response on the same socket')
      const end = client.text.indexOf('\r\n0\r\n\r\n') + 7
      t.match(client.text.slice(end), /^HTTP\/1\.1 200 OK\r\n/, 'the next response follows the last chunk directly')
      t.notMatch(bodyOf(client.text.slice(0, end)), /after/, 'nothing the stream sent after the end went out')
      t.equal(seen.result.reason, 'end', 'the stream ended as the application asked')
      if (seen.sends) t.same(seen.sends, seen.sends.map(() => false), 'send() says the stream is over')
      t.equal(app.sse.openStreams, 0)
      client.socket.destroy()
    })
  }
}

test('a response the application destroys ends the stream without an error escaping', async (t) => {
  failOnEscapes(t)
  const app = await build(t)
  const seen = {}
  app.get('/s', (request, reply) => {
    const stream = reply.sse.open()
    reply.raw.destroy()
    seen.sends = [stream.send({ data: 'after' })]
    return stream.done.then((result) => { seen.result = result })
  })
  const port = await listen(app)
  const client = keepAlive(port)
  client.get('/s')
  await until(() => seen.result, 'the stream to end')
  t.equal(seen.result.reason, 'client')
  t.same(seen.sends, [false])
  t.equal(app.sse.openStreams, 0)
  client.socket.destroy()
})

test('writes the application corks keep their place before the stream\'s own', async (t) => {
  failOnEscapes(t)
  const app = await build(t)
  app.get('/s', (request, reply) => {
    const stream = reply.sse.open()
    setImmediate(() => {
      reply.raw.cork()
      reply.raw.write('data: A\n\n')
      stream.send({ data: 'B' })
      stream.send({ data: 'C' })
      reply.raw.uncork()
      stream.send({ data: 'D' })
      setImmediate(() => stream.close())
    })
    return stream.done
  })
  const port = await listen(app)
  const client = keepAlive(port)
  client.get('/s')
  await until(() => client.text.includes('\r\n0\r\n\r\n'), 'the stream to end')
  const body = bodyOf(client.text)
  t.match(body, /data: A\n\n[^]*data: B\n\n[^]*data: C\n\n[^]*data: D\n\n/, `in order on Node ${process.version}: ${JSON.stringify(body)}`)
  client.socket.destroy()
})

test('a write() replaced after the stream opened is not used for its events (checked at open only)', async (t) => {
  failOnEscapes(t)
  const app = await build(t)
  const seen = { wrapped: 0 }
  app.get('/s', (request, reply) => {
    const stream = reply.sse.open()
    const original = reply.raw.write
    reply.raw.write = function (...args) { seen.wrapped++; return original.apply(this, args) }
    stream.send({ data: 'one' })
    setImmediate(() => stream.close())
    return stream.done
  })
  const port = await listen(app)
  const client = keepAlive(port)
  client.get('/s')
  await until(() => client.text.includes('\r\n0\r\n\r\n'), 'the stream to end')
  t.match(bodyOf(client.text), /data: one\n\n/)
  t.equal(seen.wrapped, 0, 'the events went to the socket, as documented')
  client.socket.destroy()
})
