// The stall timer counts progress: a client that keeps reading through a long backlog is
// kept however long the backlog takes, one that stops is dropped. Time is driven through the
// connection's own clock (the `now` of each tick), not by waiting.
import { test } from 'tap'
import http from 'node:http'
import { once } from 'node:events'
import { performance } from 'node:perf_hooks'
import { Connection } from './internals/lib.mjs'
import { rawGet } from './helpers/app.mjs'
import { until } from './helpers/wait.mjs'

// Both ways a connection writes: chunks framed by the connection and written to the socket
// (the head already sent, as streams open), and through res.write() (the head not sent yet).
for (const headSent of [true, false]) {
  test(`a slow but steady reader is not stalled; a reader that stops is (${headSent ? 'chunks to the socket' : 'res.write()'})`, (t) => stallCase(t, headSent))
}

async function stallCase (t, headSent) {
  const stallTimeoutMs = 1000
  let conn
  // What says 'drain' when the client catches up: the socket when the connection writes to it.
  let drains
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    if (headSent) res.flushHeaders()
    conn = new Connection(res, { heartbeatMs: 0, stallTimeoutMs, maxBufferedBytes: 64 * 1024 * 1024 }, performance.now())
    drains = headSent ? res.socket : res
    const block = 'data: ' + 'z'.repeat(64 * 1024) + '\n\n'
    // 64 MiB written the way a replay writes: more only while less than 1 MiB waits.
    const write = async () => {
      for (let i = 0; i < 1024 && !conn.closed; i++) {
        conn.write(block)
        if (conn.res.writableLength >= 1024 * 1024 && !conn.flush()) await conn.whenWritable()
      }
    }
    write()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const client = rawGet(server.address().port, '/')
  const res = client.socket
  res.pause()
  t.teardown(() => res.destroy())
  await until(() => conn !== undefined && conn.res.writableLength >= 1024 * 1024, 'writes to be refused')
  let now = performance.now()
  conn.tick(now)
  // Each step the clock moves past the stall timeout while the client reads just enough for
  // the server's queue to shrink (it never empties).
  for (let step = 0; step < 5; step++) {
    const before = conn.res.writableLength
    let drained = false
    const onDrain = () => { drained = true }
    drains.once('drain', onDrain)
    const onData = () => {
      if (drained || conn.res.writableLength < before) res.pause()
    }
    res.on('data', onData)
    res.resume()
    await until(() => drained || conn.res.writableLength < before, `the client to take some (${conn.res.writableLength} of ${before} queued)`)
    res.pause()
    res.off('data', onData)
    drains.off('drain', onDrain)
    now += stallTimeoutMs + 500
    conn.tick(now)
    t.equal(conn.closed, false, `step ${step}: still open after ${stallTimeoutMs + 500} ms`)
    await until(() => conn.res.writableLength >= 1024 * 1024, 'the writer to fill the queue again')
    now += 1
    conn.tick(now)
  }
  now += stallTimeoutMs - 10
  conn.tick(now)
  t.equal(conn.closed, false, 'not yet: less than the timeout without progress')
  now += 10
  conn.tick(now)
  t.equal(conn.reason, 'stalled', 'no progress for the whole timeout: dropped')
}
