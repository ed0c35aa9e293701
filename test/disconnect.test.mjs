import { test } from 'tap'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { build, countingProducer, listen, producerCounter, rawGet, timerTracker } from './helpers/app.mjs'
import { until } from './helpers/wait.mjs'

test('a client leaving aborts the signal and runs the producer\'s finally', async (t) => {
  const app = await build(t)
  const seen = { aborted: false, finally: false, result: undefined }
  app.get('/', async (request, reply) => {
    seen.result = await reply.sse(async function * ({ signal }) {
      try {
        for (let i = 0; ; i++) {
          yield { id: i, data: i }
          await sleep(1000, undefined, { signal })
        }
      } finally {
        seen.aborted = signal.aborted
        seen.finally = true
      }
    })
  })
  const port = await listen(app)
  const client = rawGet(port, '/')
  await until(() => client.text.includes('data: 0'), 'the first event')
  client.socket.destroy()
  await until(() => seen.finally, 'the producer finally')
  t.ok(seen.aborted, 'the signal was aborted before the finally ran')
  await until(() => seen.result, 'reply.sse() to settle')
  t.same(seen.result, { reason: 'client', events: 1 })
  t.equal(app.sse.openStreams, 0)
})

test('a producer stuck in an await that ignores the signal still gets return() and releases the stream', async (t) => {
  const app = await build(t)
  let release
  const stuck = new Promise((resolve) => { release = resolve })
  const seen = { settled: undefined, finally: false, yieldedAfter: false }
  app.get('/', async (request, reply) => {
    seen.settled = await reply.sse(async function * () {
      try {
        yield { data: 'first' }
        await stuck // ignores every signal
        seen.yieldedAfter = true
        yield { data: 'never written' }
      } finally {
        seen.finally = true
      }
    })
  })
  const port = await listen(app)
  const client = rawGet(port, '/')
  await until(() => client.text.includes('data: first'), 'the first event')
  client.socket.destroy()
  // The stream is released while the producer is still suspended.
  await until(() => seen.settled, 'reply.sse() to settle while the producer is suspended')
  t.equal(seen.settled.reason, 'client')
  t.equal(app.sse.openStreams, 0)
  t.notOk(seen.finally, 'the producer is still suspended')
  release()
  // return() was queued: the generator finishes at its next yield instead of producing more.
  await until(() => seen.finally, 'the finally after the await resolves')
  t.ok(seen.yieldedAfter, 'it resumed once')
})

test('a plain async iterator gets return() on disconnect', async (t) => {
  const app = await build(t)
  let returned = 0
  app.get('/', (request, reply) => reply.sse({
    [Symbol.asyncIterator] () {
      return {
        next: () => new Promise(() => {}), // never settles
        return: async () => { returned++; return { done: true, value: undefined } }
      }
    }
  }))
  const port = await listen(app)
  const client = rawGet(port, '/')
  await until(() => client.text.includes(':\n\n'), 'the opening frame')
  client.socket.destroy()
  await until(() => returned === 1, 'return() to be called')
  await until(() => app.sse.openStreams === 0, 'the stream to be released')
  t.equal(returned, 1)
})

test('inject with an aborted signal cancels the producer', async (t) => {
  const app = await build(t)
  const seen = { finally: false, aborted: false }
  app.get('/', (request, reply) => reply.sse(countingProducer(seen)))
  const controller = new AbortController()
  const res = await app.inject({ url: '/', payloadAsStream: true, signal: controller.signal })
  const stream = res.stream()
  let text = ''
  for await (const chunk of stream) {
    text += chunk
    if (text.includes('data: 2')) break
  }
  controller.abort()
  await until(() => seen.finally, 'the producer finally')
  t.ok(seen.aborted)
  await until(() => app.sse.openStreams === 0, 'the stream to be released')
})

test('1,000 connect/disconnect cycles leave nothing behind', async (t) => {
  const app = await build(t, { heartbeatMs: 50 })
  const producers = producerCounter()
  app.get('/', (request, reply) => reply.sse(async function * ({ signal }) {
    producers.started++
    try {
      yield { data: 'hello' }
      await sleep(60_000, undefined, { signal })
    } catch {
      // AbortError from the sleep: the expected way out
    } finally {
      producers.finished++
    }
  }))
  const port = await listen(app)
  const timers = timerTracker()
  t.teardown(() => timers.stop())
  const timersBefore = timers.count
  const rounds = 1000
  const batch = 50
  for (let done = 0; done < rounds; done += batch) {
    const clients = Array.from({ length: batch }, () => rawGet(port, '/'))
    await until(() => clients.every((c) => c.text.includes('data: hello')), 'a batch of streams')
    for (const c of clients) c.socket.destroy()
    await Promise.all(clients.map((c) => c.closed))
  }
  await until(() => producers.running === 0 && app.sse.openStreams === 0, 'every producer to finish')
  t.equal(producers.started, rounds)
  t.equal(producers.finished, rounds)
  t.equal(app.sse.openStreams, 0)
  await until(() => timers.count <= timersBefore, 'every timer, the shared heartbeat timer included, to stop')
  // Listeners the plugin added to responses and sockets are gone with them; the server itself holds none.
  t.equal(app.server.listenerCount('request'), 1)
})

test('a finite stream that ends normally reports how many events it sent', async (t) => {
  const app = await build(t)
  let result
  app.get('/', async (request, reply) => {
    result = await reply.sse([{ data: 1 }, { comment: 'not an event' }, { data: 2 }, {}])
  })
  const port = await listen(app)
  const res = await request(`http://127.0.0.1:${port}/`)
  t.equal(await res.body.text(), ':\n\ndata: 1\n\n: not an event\n\ndata: 2\n\n')
  await until(() => result, 'the result')
  t.same(result, { reason: 'end', events: 3 })
})

test('a disconnect before the producer function resolves still releases everything', async (t) => {
  const app = await build(t)
  let returned = false
  let called = false
  let release
  const gate = new Promise((resolve) => { release = resolve })
  app.get('/', (request, reply) => reply.sse(async () => {
    called = true
    await gate
    return {
      [Symbol.asyncIterator] () {
        return { next: () => new Promise(() => {}), return: async () => { returned = true; return { done: true } } }
      }
    }
  }))
  const port = await listen(app)
  const client = rawGet(port, '/')
  await until(() => called, 'the producer function to be running')
  client.socket.destroy()
  await once(client.socket, 'close')
  release()
  await until(() => returned, 'return() on the late iterator')
  t.equal(app.sse.openStreams, 0)
})
