// Publishes, disconnects and reconnects interleaved at random points (seeded, so a failure
// replays exactly): per client, across all its reconnects, ids strictly increase and never
// repeat, and between two received events every offset is present or a reset notice sits
// between them. Small retention makes some reconnects fall off the buffer on purpose.
import { test } from 'tap'
import { checkInvariant, replayApp, sseClient } from './helpers/replay.mjs'

function prng (seed) {
  let x = seed >>> 0
  return () => {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    return x / 2 ** 32
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

for (const seed of [1, 7, 42]) {
  test(`random publishes, drops and reconnects keep the invariant (seed ${seed})`, async (t) => {
    const random = prng(seed)
    const { app, s } = await replayApp(t, { stream: { replay: { maxEvents: 15, maxReplay: 10 } } })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const port = app.server.address().port
    const CLIENTS = 6
    const STEPS = 250
    const clients = []
    for (let i = 0; i < CLIENTS; i++) clients.push({ conn: await sseClient(port), received: [], resumes: 0 })
    const collect = (c) => {
      c.received.push(...c.conn.events)
      c.conn.events.length = 0
    }
    let published = 0
    for (let step = 0; step < STEPS; step++) {
      const r = random()
      if (r < 0.6) {
        // Sometimes a burst within one tick, sometimes spread out.
        const burst = 1 + Math.floor(random() * 4)
        for (let b = 0; b < burst; b++) s.publish({ event: 'n', data: { n: ++published } })
      } else {
        const c = clients[Math.floor(random() * CLIENTS)]
        collect(c)
        const last = c.conn.lastEventId
        c.conn.close()
        await tick()
        collect(c)
        // Usually resume at once, sometimes after more events have gone by.
        if (random() < 0.3) for (let b = 0; b < 5; b++) s.publish({ event: 'n', data: { n: ++published } })
        c.conn = await sseClient(port, '/s', last || undefined)
        c.resumes++
      }
      if (random() < 0.5) await tick()
    }
    const head = await app.sse.store.head('s')
    for (const c of clients) {
      await c.conn.until((x) => x.lastEventId === head, 5000)
      collect(c)
      c.conn.close()
    }
    let resets = 0
    for (const [i, c] of clients.entries()) {
      t.equal(checkInvariant(t, c.received, `client ${i}`), 0, `client ${i}: ${c.received.length} items over ${c.resumes} reconnects`)
      resets += c.received.filter((e) => e.type === 'reset').length
    }
    t.ok(published > 100, `${published} events published`)
    t.comment(`resets: ${resets}`, app.sse.metrics().resets)
  })
}

test('the invariant checker catches holes, repeats and silent epoch changes', async (t) => {
  const fake = { fail () {} }
  const ev = (id) => ({ type: 'n', lastEventId: id })
  t.equal(checkInvariant(fake, [ev('abcdef:1'), ev('abcdef:2')], 'ok'), 0)
  t.equal(checkInvariant(fake, [ev('abcdef:1'), ev('abcdef:3')], 'hole'), 1)
  t.equal(checkInvariant(fake, [ev('abcdef:1'), { type: 'reset' }, ev('abcdef:3')], 'reset'), 0)
  t.equal(checkInvariant(fake, [ev('abcdef:1'), ev('abcdef:1')], 'repeat'), 2)
  t.equal(checkInvariant(fake, [ev('abcdef:1'), ev('ghijkl:2')], 'epoch'), 1)
})
