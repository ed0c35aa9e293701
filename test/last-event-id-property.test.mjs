// Generated Last-Event-ID values, sent as raw bytes on a real socket: every valid UTF-8 id
// (U+FFFD, BOM and astral characters included) within the cap comes through unchanged; every
// byte sequence that is not UTF-8, every id with NUL, CR or LF, every id over the cap is
// treated as absent.
import { test } from 'tap'
import { bodyOf, build, listen, rawGet } from './helpers/app.mjs'
import { pick, rng } from './helpers/rng.mjs'

const MAX = 64

async function echoApp (t) {
  const app = await build(t, { maxLastEventIdLength: MAX })
  app.get('/', (request, reply) => reply.sse(({ lastEventId }) => [{ data: JSON.stringify({ lastEventId: lastEventId ?? null }) }]))
  return app
}

async function seenOverSocket (port, bytes) {
  const client = rawGet(port, '/', { 'last-event-id': Buffer.from(bytes).toString('latin1') })
  await client.closed
  const line = bodyOf(client.text).split('\n').find((l) => l.startsWith('data: '))
  return line === undefined ? { status: client.text.slice(9, 12) } : JSON.parse(line.slice(6)).lastEventId
}

const CHARS = ['a', 'Z', '0', ':', '-', '_', '.', '~', ' ', 'é', 'ß', '日', '本', '€', '😀', '𝄞', '\uFFFD', '\uFEFF', '\u2028', '\u00A0', '\u0085']

// Byte sequences no UTF-8 decoder may accept: stray continuation bytes, overlong forms,
// encoded surrogates, code points past U+10FFFF, bytes that never occur, truncated sequences.
const INVALID = [[0x80], [0xBF], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],
  [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xF8], [0xFE], [0xFF], [0xE6, 0x97], [0xF0, 0x9F, 0x98], [0xC3]]

function validId (next, length) {
  let id = 'a'
  for (let i = 0; i < length; i++) id += pick(next, CHARS)
  return id + 'z' // the HTTP parser trims spaces at the ends of a header value
}

test('generated ids over a real socket: valid UTF-8 is kept, anything else is absent', async (t) => {
  const app = await echoApp(t)
  const port = await listen(app)
  let kept = 0
  let refused = 0
  for (let seed = 1; seed <= 160; seed++) {
    const next = rng(seed)
    const id = validId(next, Math.floor(next() * 24))
    const bytes = [...Buffer.from(id, 'utf8')]
    const broken = next() < 0.5
    if (broken) {
      const at = 1 + Math.floor(next() * (bytes.length - 1))
      bytes.splice(at, 0, ...pick(next, INVALID))
    }
    const wanted = !broken && bytes.length <= MAX ? id : null
    const seen = await seenOverSocket(port, bytes)
    if (seen !== wanted) {
      t.fail(`seed ${seed}: ${JSON.stringify(Buffer.from(bytes).toString('hex'))}`, { seen, wanted })
      return
    }
    if (wanted === null) refused++
    else kept++
  }
  t.ok(kept > 40 && refused > 40, `${kept} kept, ${refused} refused`)
})

test('a valid id that contains U+FFFD is kept', async (t) => {
  const app = await echoApp(t)
  const port = await listen(app)
  for (const id of ['\uFFFD', 'a\uFFFDb', 'epoch:\uFFFD\uFFFD:12', '\uFEFFstart']) {
    t.equal(await seenOverSocket(port, Buffer.from(id, 'utf8')), id, encodeURIComponent(id))
  }
  t.equal(await seenOverSocket(port, [0x61, 0xFF, 0x62]), null, 'while a byte that is not UTF-8 is refused')
})

test('ids at, over and far over the cap, by bytes', async (t) => {
  const app = await echoApp(t)
  const port = await listen(app)
  t.equal(await seenOverSocket(port, Buffer.from('€'.repeat(21), 'utf8')), '€'.repeat(21), '63 bytes')
  t.equal(await seenOverSocket(port, Buffer.from('x'.repeat(MAX), 'utf8')), 'x'.repeat(MAX), 'exactly the cap')
  t.equal(await seenOverSocket(port, Buffer.from('x'.repeat(MAX + 1), 'utf8')), null, 'one byte over')
  t.equal(await seenOverSocket(port, Buffer.from('€'.repeat(22), 'utf8')), null, '66 bytes of euro signs')
  t.equal(await seenOverSocket(port, Buffer.from('x'.repeat(12_000), 'utf8')), null, '12 KB')
})

test('NUL, CR, LF and lone surrogates, through the query and through inject', async (t) => {
  const app = await echoApp(t)
  const seen = async (options) => {
    const res = await app.inject(options)
    return JSON.parse(res.body.split('\n').find((l) => l.startsWith('data: ')).slice(6)).lastEventId
  }
  for (let seed = 1; seed <= 40; seed++) {
    const next = rng(seed)
    const bad = pick(next, ['\u0000', '\r', '\n', '\r\n'])
    const chars = Array.from(validId(next, 6)) // by code point: a split pair is another test
    const at = 1 + Math.floor(next() * (chars.length - 1))
    const value = chars.slice(0, at).join('') + bad + chars.slice(at).join('')
    t.equal(await seen({ url: '/?lastEventId=' + encodeURIComponent(value) }), null, `seed ${seed}: ${encodeURIComponent(value)}`)
  }
  t.equal(await seen({ url: '/', headers: { 'last-event-id': 'a\uD800b' } }), null, 'a lone surrogate')
  t.equal(await seen({ url: '/', headers: { 'last-event-id': '日本\uFFFD' } }), '日本\uFFFD', 'beyond latin1, from inject, U+FFFD kept')
})
