// Load and slow-consumer failure cases for the Redis store, against a real redis-server, with
// both clients: a reconnect storm on one cursor (every client resumes exactly; what the storm
// costs in reads of the log), and a subscriber connection that Redis drops for exceeding its
// Pub/Sub output buffer limit while the instance's event loop is blocked.
import t0, { test } from 'tap'
import { spawnSync } from 'node:child_process'
import { redisStore } from 'fastify-typed-sse/redis'
import { build, listen } from './helpers/app.mjs'
import { CLIENTS, asItems, connectClient, invariantProblems, openEventStream, requireRedisServer, startRedis, statsDelta } from './helpers/redis-server.mjs'
import { until } from './helpers/wait.mjs'

if (requireRedisServer(t0)) {
  const redis = await startRedis()
  t0.teardown(() => redis.stop())
  let n = 0

  /** One Fastify instance on a redisStore of the given client, serving `/s` from a declared stream. */
  async function instance (t, kind, storeOptions = {}, pluginOptions = {}) {
    const conn = await connectClient(kind, redis.port)
    const prefix = `s${++n}:`
    const store = redisStore({ client: conn.client, prefix, positionCheckMs: 0, ...storeOptions })
    const app = await build(t, { store, ...pluginOptions })
    const stream = app.sse.stream('storm', { replay: { maxEvents: 20_000 } })
    app.get('/s', (request, reply) => reply.sse.subscribe(stream))
    // After the app (registered first by build, so it closes first): the store, then the client.
    t.teardown(async () => { await store.close(); await conn.close() })
    const url = `http://127.0.0.1:${await listen(app)}/s`
    return { app, store, stream, prefix, url }
  }

  const ids = (client) => client.received.map((e) => e.lastEventId)

  for (const kind of CLIENTS) {
    test(`${kind}: reconnect storm of 400 clients on one cursor: exact resume for all, a live event costs only its append`, async (t) => {
      const { stream, url } = await instance(t, kind)
      const published = []
      for (let i = 1; i <= 10; i++) published.push(await stream.publish({ data: `before ${i}` }))
      // A client already on the stream keeps the key subscribed (the storm meets a warm channel),
      // and the read script is loaded, so no NOSCRIPT retry is counted below.
      const settled = openEventStream(url)
      t.teardown(() => settled.close())
      await until(() => settled.decoder.lastEventId === published[9].id, 'the first client is positioned', 5000)
      const cursor = published[5].id // four events behind
      const N = 400
      const before = await redis.commandStats()
      const clients = Array.from({ length: N }, () => openEventStream(url, cursor))
      t.teardown(() => clients.forEach((c) => c.close()))
      const missed = published.slice(6).map((e) => e.id)
      await until(() => clients.every((c) => c.received.length >= missed.length), `every client replays the ${missed.length} missed events`, 15_000)
      const storm = statsDelta(before, await redis.commandStats())
      for (const [i, c] of clients.entries()) {
        if (c.status !== 200 || c.ended || c.received.length !== missed.length || ids(c).join() !== missed.join()) {
          t.fail(`client ${i}: exactly the missed events, in order, still open`, { status: c.status, ended: c.ended, got: ids(c) })
        }
      }
      t.pass(`all ${N} clients replayed exactly ${missed.join(', ')}`)
      t.notOk(clients.some((c) => c.received.some((e) => e.type === 'reset')), 'no reset')
      t.equal(storm.eval ?? 0, 0, 'the read script was already loaded: no EVAL fallback')
      t.ok(storm.evalsha >= 1 && storm.evalsha <= N, `at most one read per client (${storm.evalsha} for ${N})`)
      // The stream is subscribed here, so replays are answered from what this instance delivered.
      t.ok(storm.evalsha <= 3, `the storm read the log a small constant number of times (${storm.evalsha} for ${N} clients)`)

      // One more event: every client gets it live, for the cost of its append alone.
      const beforeLive = await redis.commandStats()
      const live = await stream.publish({ data: 'live' })
      await until(() => clients.every((c) => c.decoder.lastEventId === live.id), 'every client receives the live event', 10_000)
      await until(() => settled.decoder.lastEventId === live.id, 'the first client receives the live event', 5000)
      const after = statsDelta(beforeLive, await redis.commandStats())
      t.equal(after.evalsha, 1, 'exactly one script call: the append')
      t.equal(after.xrange ?? 0, 0, 'no client read the log for it', { found: after })
      const expected = [...missed, live.id]
      const wrong = clients.filter((c) => ids(c).join() !== expected.join() || invariantProblems(asItems(c.received)).length > 0)
      t.equal(wrong.length, 0, `all ${N} clients: the missed events, then the live one, each once, in order`)
      t.same(ids(settled), [...published.map((e) => e.id), live.id].slice(-ids(settled).length), 'the first client is unaffected')
      t.ok(clients.every((c) => !c.ended), 'every client is still connected')
    })
  }

  // Publishes from another process while this one is blocked in spawnSync (so the store's
  // Pub/Sub connection is not read), until Redis has dropped that connection, then a few more
  // that only the log holds. Prints the stored ids and what it saw, as JSON.
  const PUBLISHER = `
    import { Redis } from 'ioredis'
    import { redisStore } from 'fastify-typed-sse/redis'
    const [port, prefix, subscriberId] = process.argv.slice(1)
    const redis = new Redis({ port: Number(port), host: '127.0.0.1' })
    const store = redisStore({ client: redis, prefix, maxEvents: 20000, appendTimeoutMs: 5000 })
    const subscribed = async () => String(await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub')).includes('id=' + subscriberId + ' ')
    const ids = []
    let dropped = false
    const padding = 'x'.repeat(16 * 1024)
    try {
      for (let batch = 0; batch < 250 && !dropped; batch++) {
        const stored = await Promise.all(Array.from({ length: 16 }, (_, i) => store.append('storm', { data: (batch * 16 + i) + ':' + padding })))
        ids.push(...stored.map((e) => e.id))
        dropped = !(await subscribed())
      }
      if (dropped) for (let i = 0; i < 5; i++) ids.push((await store.append('storm', { data: 'after the drop ' + i })).id)
    } finally {
      await store.close()
      redis.disconnect()
    }
    console.log(JSON.stringify({ ids, dropped }))
  `

  for (const kind of CLIENTS) {
    test(`${kind}: Redis drops a stalled subscriber (client-output-buffer-limit pubsub): reconnect and repair, no reset`, async (t) => {
      const { stream, prefix, url } = await instance(t, kind, { maxEvents: 20_000 }, { maxBufferedBytes: 256 * 1024 * 1024 })
      const [, limit] = await redis.command('CONFIG', 'GET', 'client-output-buffer-limit')
      const pubsubLimit = /pubsub \d+ \d+ \d+/.exec(limit)[0]
      await redis.command('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 64kb 32kb 1')
      t.teardown(() => redis.command('CONFIG', 'SET', 'client-output-buffer-limit', pubsubLimit))

      const clients = [openEventStream(url), openEventStream(url), openEventStream(url)]
      t.teardown(() => clients.forEach((c) => c.close()))
      await until(() => clients.every((c) => c.decoder.lastEventId !== ''), 'clients positioned', 5000)
      const published = []
      for (let i = 1; i <= 5; i++) published.push(await stream.publish({ data: `before ${i}` }))
      await until(() => clients.every((c) => c.decoder.lastEventId === published[4].id), 'clients receive the first events live', 5000)

      const channel = (await redis.command('PUBSUB', 'CHANNELS', `${prefix}*`))[0]
      t.same(await redis.command('PUBSUB', 'NUMSUB', channel), [channel, 1], 'one subscription for the instance')
      const pubsubIds = async () => [...String(await redis.command('CLIENT', 'LIST', 'TYPE', 'pubsub')).matchAll(/^id=(\d+) /gm)].map((m) => m[1])
      const [subscriberId, ...others] = await pubsubIds()
      t.same(others, [], 'the instance holds the only Pub/Sub connection')

      // This process stops reading for as long as the publisher runs.
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', PUBLISHER, String(redis.port), prefix, subscriberId],
        { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' })
      if (run.status !== 0) return t.fail('the publisher failed', { status: run.status, signal: run.signal, stderr: run.stderr })
      const { ids: stored, dropped } = JSON.parse(run.stdout)
      // Appends sent together may be answered in any order; the stream's order is by offset.
      const during = stored.sort((a, b) => Number(a.split(':')[1]) - Number(b.split(':')[1]))
      if (!dropped) return t.fail(`Redis did not drop the stalled subscriber within ${during.length} events of 16 KiB`)
      t.pass(`Redis dropped the stalled subscriber after ${during.length - 5} events of 16 KiB`)
      // Its log line is read from the server's stdout once this process runs again.
      const reason = new RegExp(`Client id=${subscriberId} .* scheduled to be closed ASAP for overcoming of output buffer limits`)
      await until(() => reason.test(redis.log()), `Redis logs that it closed client ${subscriberId} for its output buffer`, 5000)
      t.pass('because it went over its output buffer limit')

      await until(async () => (await redis.command('PUBSUB', 'NUMSUB', channel))[1] === 1, 'the instance subscribes again', 10_000)
      const [again] = await pubsubIds()
      t.not(again, subscriberId, `the subscription is back on a new connection (id ${subscriberId} -> ${again})`)

      const last = during.at(-1)
      await until(() => clients.every((c) => c.decoder.lastEventId === last), 'clients catch up to the events only the log holds', 15_000)
      for (let i = 1; i <= 3; i++) published.push(await stream.publish({ data: `after ${i}` }))
      const expected = [...published.slice(0, 5).map((e) => e.id), ...during, ...published.slice(5).map((e) => e.id)]
      await until(() => clients.every((c) => c.decoder.lastEventId === expected.at(-1)), 'live delivery resumes', 5000)
      const offsets = expected.map((id) => Number(id.split(':')[1]))
      t.same(offsets, Array.from({ length: offsets.length }, (_, i) => i + 1), 'the stream has no hole')
      for (const [i, c] of clients.entries()) {
        t.ok(ids(c).join() === expected.join(), `client ${i}: all ${expected.length} events exactly once, in order`, { got: ids(c).length })
        t.notOk(c.received.some((e) => e.type === 'reset'), `client ${i}: no reset`)
        t.same(invariantProblems(asItems(c.received)), [], `client ${i}: invariant`)
        t.notOk(c.ended, `client ${i}: still connected`)
      }
    })
  }
}
