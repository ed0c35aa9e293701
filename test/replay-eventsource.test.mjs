// A real EventSource (undici) reconnecting after the server destroys its socket: it sends
// Last-Event-ID by itself and gets exactly what it missed.
import { test } from 'tap'
import { EventSource } from 'undici'
import { replayApp } from './helpers/replay.mjs'
import { until } from './helpers/wait.mjs'

test('undici EventSource resumes after the server drops the connection', async (t) => {
  const { app, s } = await replayApp(t, { plugin: { retryMs: 50 } })
  const sockets = new Set()
  app.server.on('connection', (socket) => { sockets.add(socket); socket.on('close', () => sockets.delete(socket)) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const es = new EventSource(`http://127.0.0.1:${app.server.address().port}/s`)
  t.teardown(() => es.close())
  const got = []
  let opens = 0
  es.onopen = () => { opens++ }
  es.addEventListener('n', (e) => got.push({ n: JSON.parse(e.data).n, id: e.lastEventId }))
  es.addEventListener('reset', () => got.push({ reset: true }))
  await until(() => app.sse.metrics().subscribers === 1, 'the first connection')
  await s.publish({ event: 'n', data: { n: 1 } })
  await until(() => got.length === 1, 'event 1')
  for (const socket of sockets) socket.destroy()
  await until(() => app.sse.metrics().subscribers === 0, 'the server side to notice')
  // Published while the client is away: it must get them on its own reconnect.
  await s.publish({ event: 'n', data: { n: 2 } })
  await s.publish({ event: 'n', data: { n: 3 } })
  await until(() => got.length === 3, 'the missed events')
  await s.publish({ event: 'n', data: { n: 4 } })
  await until(() => got.length === 4, 'live after the resume')
  t.same(got.map((e) => e.n), [1, 2, 3, 4], 'each event once, in order, no reset')
  t.ok(opens >= 2, 'it really reconnected')
  t.equal(app.sse.metrics().replays, 1)
})

test('an EventSource that reconnects before the first event still resumes (id-only head block)', async (t) => {
  const { app, s } = await replayApp(t, { plugin: { retryMs: 50 } })
  const sockets = new Set()
  app.server.on('connection', (socket) => { sockets.add(socket); socket.on('close', () => sockets.delete(socket)) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  await s.publish({ event: 'n', data: { n: 0 } }) // history the client must not get
  const es = new EventSource(`http://127.0.0.1:${app.server.address().port}/s`)
  t.teardown(() => es.close())
  const got = []
  es.addEventListener('n', (e) => got.push(JSON.parse(e.data).n))
  await until(() => app.sse.metrics().subscribers === 1, 'the connection')
  // The id-only block has left the server (on loopback it is then in the client's buffer,
  // which the client reads before it sees the connection close).
  await until(() => sockets.size === 1 && [...sockets].every((s) => s.writableLength === 0 && s.bytesWritten > 0), 'the id-only block to be sent')
  for (const socket of sockets) socket.destroy()
  await until(() => app.sse.metrics().subscribers === 0, 'the drop')
  await s.publish({ event: 'n', data: { n: 1 } })
  await until(() => got.length === 1, 'the event published while away')
  t.same(got, [1])
  t.equal(app.sse.metrics().replays, 1, 'resumed from the head it was given, not started over')
})
