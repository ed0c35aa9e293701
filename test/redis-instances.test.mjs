// Two Fastify instances in separate processes on one Redis (case 9): both publish to one
// stream, interleaved; clients stay on one instance or hop between them with Last-Event-ID.
// Every client must see the identical sequence. The instances are the README examples.
import t0, { test } from 'tap'
import { CLIENTS, asItems, invariantProblems, openEventStream, requireRedisServer, startInstance, startRedis } from './helpers/redis-server.mjs'
import { until } from './helpers/wait.mjs'

const open = (base, lastEventId) => openEventStream(base + '/chat', lastEventId)

if (requireRedisServer(t0)) {
  const redis = await startRedis()
  t0.teardown(() => redis.stop())

  for (const kind of CLIENTS) {
    test(`${kind}: two instances in separate processes, clients hopping between them (case 9)`, async (t) => {
      await redis.command('FLUSHALL')
      const [a, b] = await Promise.all([startInstance(t, kind, redis.url), startInstance(t, kind, redis.url)])
      const bases = [a.base, b.base]

      // Two clients stay put, one per instance; two hop between them.
      const stay = bases.map((base) => open(base))
      t.teardown(() => stay.forEach((c) => c.close()))
      await until(() => stay.every((c) => c.decoder.lastEventId !== ''), 'stationary clients positioned', 5000)

      const total = 150
      let last = null
      let positioned = 0
      const hoppers = [0, 1].map(async (start) => {
        const all = []
        let cursor
        let hops = 0
        for (let i = start; hops < 40; i++, hops++) {
          const conn = open(bases[i % 2], cursor)
          const target = all.length + 12
          // A connection that resumes at the head gets no id until the next event, so the
          // position is the cursor it sent until then: a hopper can reach the last event
          // before the publishers know which one is last.
          const position = () => conn.decoder.lastEventId || cursor
          if (hops === 0) {
            // The id-only head block: from here on this client misses nothing.
            await until(() => conn.decoder.lastEventId !== '', `hopper ${start} positioned`)
            positioned++
          }
          try {
            await until(() => all.length + conn.received.length >= target || (last !== null && position() === last), `hopper ${start} hop ${hops}`, 10_000)
          } finally {
            conn.close()
          }
          all.push(...conn.received)
          cursor = position()
          if (last !== null && cursor === last) break
          if (hops === 0 && !cursor) throw new Error('the first connection never got an id')
        }
        return { all, hops }
      })
      // Both hoppers hold a position before anything is published.
      await until(() => positioned === 2, 'both hoppers positioned')

      const post = async (base, i) => {
        const response = await fetch(base + '/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ i }) })
        if (response.status !== 200) throw new Error(`publish ${i}: ${response.status} ${await response.text()}`)
        return response.json()
      }
      const published = []
      await Promise.all([0, 1].map(async (side) => {
        for (let i = side; i < total; i += 2) {
          published.push(await post(bases[side], i))
          if (i % 10 < 2) await new Promise((resolve) => setTimeout(resolve, 10))
        }
      }))
      const epoch = published[0].id.split(':')[0]
      const expected = Array.from({ length: total }, (_, i) => `${epoch}:${i + 1}`)
      t.same(published.map((e) => e.id).sort((x, y) => Number(x.split(':')[1]) - Number(y.split(':')[1])), expected,
        'publishes from both instances interleave into one contiguous order')
      last = expected.at(-1)

      await until(() => stay.every((c) => c.decoder.lastEventId === last), 'stationary clients reach the last event', 10_000)
      const results = await Promise.all(hoppers)
      for (const [i, c] of stay.entries()) {
        t.same(c.received.map((e) => e.lastEventId), expected, `client on instance ${'AB'[i]} sees the identical sequence`)
        t.same(invariantProblems(asItems(c.received)), [])
      }
      for (const [i, { all, hops }] of results.entries()) {
        t.ok(hops >= 5, `hopper ${i} hopped ${hops} times`)
        t.same(all.map((e) => e.lastEventId), expected, `hopper ${i}: hops resume exactly, identical sequence`)
        t.same(invariantProblems(asItems(all)), [])
      }
      const log = (await redis.command('KEYS', '*:log'))[0]
      const ids = (await redis.command('XRANGE', log, '-', '+', 'COUNT', '1000')).map(([id]) => id)
      t.same(ids, expected.map((id) => `${id.split(':')[1]}-0`), 'the log holds every offset once')
      const channel = (await redis.command('PUBSUB', 'CHANNELS', '*'))[0]
      t.same(await redis.command('PUBSUB', 'NUMSUB', channel), [channel, 2], 'one subscription per instance')
    })
  }
}
