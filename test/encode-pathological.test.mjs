// Pathological inputs must cost time linear in their size, and an event over maxEventBytes
// must be refused before it is built: the refusal may scan the input, never build the output.
import { test } from 'tap'
import { encodeEvent } from 'fastify-typed-sse'
import { decodeEvents } from 'fastify-typed-sse/testing'
import { runNodeForJson } from './helpers/child.mjs'

const MiB = 1 << 20

// A child with a heap far smaller than the event it is asked to encode: building the block
// (58 MiB of text, millions of line pieces) cannot fit, so the child only survives, and
// prints its answer, when the size is checked before the work.
function inSmallHeap (code) {
  return runNodeForJson(['--max-old-space-size=64', '--input-type=module', '-e', code], { cwd: new URL('..', import.meta.url), timeout: 100_000 })
}

const PATHOLOGICAL = `const data = '\\n'.repeat(8 * ${MiB})`

test('encodeEvent refuses 8 Mi line breaks over maxEventBytes without building the block', async (t) => {
  const answer = await inSmallHeap(`
    import { encodeEvent } from 'fastify-typed-sse'
    ${PATHOLOGICAL}
    try {
      encodeEvent({ data }, { maxEventBytes: ${MiB} })
      console.log(JSON.stringify({ code: 'none' }))
    } catch (err) {
      console.log(JSON.stringify({ code: err.code, message: err.message }))
    }`)
  t.equal(answer.code, 'FST_SSE_EVENT_TOO_LARGE')
  // 8 Mi + 1 lines of "data: \\n", then the blank line: the exact size, counted, not built.
  t.match(answer.message, new RegExp(`${7 * (8 * MiB + 1) + 1} bytes, over the ${MiB}-byte limit`))
})

test('reply.sse() and publish() refuse it the same way, in the same small heap', async (t) => {
  const answer = await inSmallHeap(`
    import Fastify from 'fastify'
    import sse from 'fastify-typed-sse'
    import { injectEvents } from 'fastify-typed-sse/testing'
    ${PATHOLOGICAL}
    const app = Fastify()
    await app.register(sse, { maxEventBytes: ${MiB} })
    let result
    app.get('/', async (request, reply) => { result = await reply.sse([{ data }]) })
    const res = await injectEvents(app, '/')
    const published = await app.sse.publish('s', { data }).then(() => 'none', (err) => err.code)
    const ok = (await app.inject('/missing')).statusCode
    await app.close()
    console.log(JSON.stringify({ events: res.events.map((e) => e.type), stream: result.error?.code, published, ok }))`)
  t.same(answer, { events: ['error'], stream: 'FST_SSE_EVENT_TOO_LARGE', published: 'FST_SSE_EVENT_TOO_LARGE', ok: 404 })
})

/**
 * CPU time of `reps` calls, the fastest of `runs` measurements: the minimum drops what other
 * processes cost us. The output is measured too (as writing it to a socket would), so a block
 * left as a rope to build later does not hide its cost.
 */
function cpuOf (item, reps, runs = 5) {
  let best = Infinity
  for (let i = 0; i < runs; i++) {
    const start = process.cpuUsage()
    for (let r = 0; r < reps; r++) Buffer.byteLength(encodeEvent(item))
    const used = process.cpuUsage(start)
    best = Math.min(best, used.user + used.system)
  }
  return best
}

const SHAPES = {
  'line feeds': (n) => ({ data: '\n'.repeat(n) }),
  'carriage returns': (n) => ({ data: '\r'.repeat(n) }),
  CRLF: (n) => ({ data: '\r\n'.repeat(n / 2) }),
  'mixed breaks': (n) => ({ data: '\r\n\n\r'.repeat(n / 4) }),
  'short lines': (n) => ({ data: 'a\n'.repeat(n / 2) }),
  'comment breaks': (n) => ({ comment: '\n'.repeat(n) }),
  'one long line': (n) => ({ data: 'x'.repeat(n) }),
  'multi-byte': (n) => ({ data: '€\n'.repeat(n / 2) }),
  'long event and id': (n) => ({ event: 'e'.repeat(n), id: 'i'.repeat(n), data: 'x' })
}

test('encoding cost grows linearly: 8x the input costs about 8x, not 64x', async (t) => {
  const n = 1 << 17
  for (const [name, make] of Object.entries(SHAPES)) {
    const small = make(n)
    const large = make(8 * n)
    // Correct output first: a fast encoder that is wrong proves nothing.
    const decoded = decodeEvents(encodeEvent(small))
    if (small.data !== undefined) t.equal(decoded[0].data.length, small.data.replace(/\r\n|\r/g, '\n').length, `${name}: decodes back`)
    // Enough calls that the small input takes milliseconds, well above the clock's grain.
    const reps = Math.max(1, Math.ceil(5000 / Math.max(cpuOf(small, 1, 2), 1)))
    const a = cpuOf(small, reps)
    const b = cpuOf(large, reps)
    // Linear is 8; quadratic would be 64. The margin absorbs noise, never a wrong order of growth.
    t.ok(b / a < 24, `${name}: ${a} µs for ${reps} x ${n} units, ${b} µs for ${reps} x ${8 * n} (x${(b / a).toFixed(1)})`)
  }
})

test('the size check is exact at the limit, for every field and line break kind', async (t) => {
  const items = [
    { data: 'x' }, { data: '\n' }, { data: '\r\n\r' }, { data: '€😀\n日' }, { comment: 'a\n\nb\r' }, { comment: '' },
    { event: 'tick', id: 'é', retry: 10, comment: 'c', data: 'a\r\nb' }, { id: 12345 }, { data: '' },
    // Serialized data with an integer id: the one-expression path, and its bound from lengths.
    { event: 'tick', id: 7, data: { a: 1 } }, { id: -9007199254740991, data: ['é😀\n'] }, { id: 0, data: { s: 'x'.repeat(300) } }
  ]
  for (const item of items) {
    const bytes = Buffer.byteLength(encodeEvent(item))
    t.equal(encodeEvent(item, { maxEventBytes: bytes }), encodeEvent(item), `${JSON.stringify(item)} fits in exactly ${bytes} bytes`)
    t.throws(() => encodeEvent(item, { maxEventBytes: bytes - 1 }), { code: 'FST_SSE_EVENT_TOO_LARGE', message: new RegExp(`^Encoded event is ${bytes} bytes`) },
      `${JSON.stringify(item)} is refused one byte under`)
  }
})
