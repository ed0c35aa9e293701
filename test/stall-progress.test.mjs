// The stall timer counts progress: a client that keeps reading through a long backlog is
// kept however long the backlog takes, one that stops is dropped. Time is driven through the
// connection's own clock (the `now` of each tick), not by waiting.
import { test } from 'tap'
import http from 'node:http'
import { once } from 'node:events'
import { performance } from 'node:perf_hooks'
import { Connection } from '../dist/esm/connection.js'
import { until } from './helpers/app.mjs'

test('a slow but steady reader is not stalled; a reader that stops is', async (t) => {
  const stallTimeoutMs = 1000
  let conn
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    conn = new Connection(res, { heartbeatMs: 0, stallTimeoutMs, maxBufferedBytes: 64 * 1024 * 1024 }, performance.now())
    const block = 'data: ' + 'z'.repeat(64 * 1024) + '\n\n'
    for (let i = 0; i < 256; i++) conn.write(block) // 16 MiB: far more than the socket takes
    conn.flush()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const req = http.get({ host: '127.0.0.1', port: server.address().port, agent: false })
  const [res] = await once(req, 'response')
  res.pause()
  t.teardown(() => req.destroy())
  await until(() => conn !== undefined && conn.queued > 1024 * 1024, 'writes to be refused')
  let now = performance.now()
  conn.tick(now)
  // Each step the clock moves past the stall timeout while the client reads one more megabyte.
  for (let step = 0; step < 5; step++) {
    const before = conn.res.writableLength
    let read = 0
    const onData = (chunk) => {
      read += chunk.length
      if (read >= 1024 * 1024) res.pause()
    }
    res.on('data', onData)
    res.resume()
    await until(() => read >= 1024 * 1024 && conn.res.writableLength < before, 'the client to take a megabyte')
    res.off('data', onData)
    now += stallTimeoutMs + 500
    conn.tick(now)
    t.equal(conn.closed, false, `step ${step}: still open after ${stallTimeoutMs + 500} ms of a queue that never emptied`)
  }
  now += stallTimeoutMs - 1
  conn.tick(now)
  t.equal(conn.closed, false, 'not yet: less than the timeout without progress')
  now += 1
  conn.tick(now)
  t.equal(conn.reason, 'stalled', 'no progress for the whole timeout: dropped')
})
