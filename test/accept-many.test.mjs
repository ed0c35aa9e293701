// Accept headers with many ranges (RFC 9110 §12.5.1): every range counts, the last as much as
// the first, so `*/*, <hundreds of ranges>, text/event-stream;q=0` is refused. Generated
// headers (seeded: the seed is printed, `SEED=<n>` replays one) of up to 2,000 ranges are
// checked against a model; a header too long to read refuses rather than half-accepts.
import { test } from 'tap'
import { build } from './helpers/app.mjs'
import { rng, pick } from './helpers/rng.mjs'

const FILLER = ['application/json', 'text/html', 'image/png', 'application/xml;q=0.9', 'text/plain;q=0.5', 'x/y;a="b,c"', 'bad range', 'text/*;q=0.1']

/** A range's meaning for text/event-stream: q in thousandths and specificity (-1: does not match). */
function model (text) {
  if (text === '*/*') return { q: 1000, s: 0 }
  if (text === '*/*;q=0') return { q: 0, s: 0 }
  if (text === 'text/*;q=0.1') return { q: 100, s: 1 }
  if (text === 'text/event-stream') return { q: 1000, s: 2 }
  if (text === 'text/event-stream;q=0') return { q: 0, s: 2 }
  if (text === 'text/event-stream;charset=utf-8;q=0') return { q: 0, s: 3 }
  return { q: 0, s: -1 }
}

test('every range of a long Accept header counts (generated, checked against a model)', async (t) => {
  const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31))
  t.comment(`SEED=${seed}`)
  const next = rng(seed)
  const app = await build(t)
  app.get('/', (request, reply) => reply.sse([{ data: 'hi' }]))
  const deciding = ['*/*', '*/*;q=0', 'text/event-stream', 'text/event-stream;q=0', 'text/event-stream;charset=utf-8;q=0', 'text/*;q=0.1']
  for (let i = 0; i < 120; i++) {
    const count = 1 + Math.floor(next() * next() * 2000)
    const ranges = Array.from({ length: count }, () => pick(next, FILLER))
    // A few deciding ranges at random places, one of them often the very last.
    for (let k = 0; k < 1 + Math.floor(next() * 3); k++) {
      const at = next() < 0.5 ? ranges.length : Math.floor(next() * ranges.length)
      ranges.splice(at, 0, pick(next, deciding))
    }
    const accept = ranges.join(pick(next, [',', ', ']))
    let best = { q: 0, s: -1 }
    let valid = false
    for (const range of ranges) {
      if (range !== 'bad range') valid = true
      const m = model(range)
      if (m.s > best.s || (m.s === best.s && m.s >= 0 && m.q > best.q)) best = m
    }
    const accepted = accept.length > 16 * 1024 ? false : !valid || best.q > 0
    const res = await app.inject({ url: '/', headers: { accept } })
    t.equal(res.statusCode, accepted ? 200 : 406, `SEED=${seed} #${i}: ${ranges.length} ranges, ${accept.length} chars, ends ${JSON.stringify(accept.slice(-40))}`)
  }
})

test('the case as reported: */* first, 255 more ranges, text/event-stream;q=0 last', async (t) => {
  const app = await build(t)
  app.get('/', (request, reply) => reply.sse([{ data: 'hi' }]))
  const accept = ['*/*', ...Array.from({ length: 255 }, (_, i) => `application/x-${i}`), 'text/event-stream;q=0'].join(', ')
  const res = await app.inject({ url: '/', headers: { accept } })
  t.equal(res.statusCode, 406)
  t.equal(res.json().code, 'FST_SSE_NOT_ACCEPTABLE')
  const longer = await app.inject({ url: '/', headers: { accept: '*/*,' + 'a/b,'.repeat(5000) } })
  t.equal(longer.statusCode, 406, 'a header longer than 16 KiB is not half read: it accepts nothing')
})
