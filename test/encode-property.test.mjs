// Random items, including every character class that has broken SSE encoders (CR, LF, CRLF,
// NUL, U+2028/U+2029, NEL, BOM, astral characters, field look-alikes), must decode to exactly
// what was sent, through our own conforming decoder and through a maintained third-party parser,
// with the stream split into random chunks at arbitrary byte boundaries.
import { test } from 'tap'
import { createParser } from 'eventsource-parser'
import { encodeEvent } from 'fastify-typed-sse'
import { EventStreamDecoder } from 'fastify-typed-sse/testing'
import { rng } from './helpers/rng.mjs'
import { show } from './helpers/show.mjs'

const PIECES = ['\r', '\n', '\r\n', '\n\r', '\0', '\u2028', '\u2029', '\u0085', '\u000b', '\u000c', '\uFEFF', ' ', '  ', ':',
  'data: ', 'id: 5', 'event: x', 'retry: 1', 'é', '日本', '😀', '𝄞', 'a', 'b', 'xyz', '{"k":"v"}', '\t']

function randomText (next, max) {
  let out = ''
  const n = Math.floor(next() * max)
  for (let i = 0; i < n; i++) out += PIECES[Math.floor(next() * PIECES.length)]
  return out
}

function withoutLineBreaks (text) {
  return text.replace(/[\r\n]/g, '')
}

function randomItem (next) {
  const item = {}
  if (next() < 0.9) item.data = next() < 0.8 ? randomText(next, 12) : { nested: randomText(next, 6), n: Math.floor(next() * 100) }
  if (next() < 0.5) item.event = withoutLineBreaks(randomText(next, 4)).replace(/^$/, 'e')
  if (next() < 0.5) {
    item.id = next() < 0.3
      ? Math.trunc((next() * 2 - 1) * Number.MAX_SAFE_INTEGER)
      : withoutLineBreaks(randomText(next, 4)).replace(/\0/g, '')
  }
  if (next() < 0.2) item.retry = Math.floor(next() * 10_000)
  if (next() < 0.2) item.comment = randomText(next, 4)
  return item
}

// What a conforming client must see for an item.
function expected (item, previousId) {
  const id = item.id === undefined ? previousId : String(item.id)
  if (item.data === undefined) return { id }
  const text = typeof item.data === 'string' ? item.data : JSON.stringify(item.data)
  return {
    id,
    event: { type: item.event ? item.event : 'message', data: text.replace(/\r\n|\r/g, '\n'), lastEventId: id }
  }
}

function chunks (bytes, next) {
  const out = []
  let i = 0
  while (i < bytes.length) {
    const n = 1 + Math.floor(next() * 40)
    out.push(bytes.subarray(i, i + n))
    i += n
  }
  return out
}

test('random items round-trip through two conforming parsers, in random chunks', async (t) => {
  const seeds = 200
  let checked = 0
  for (let seed = 1; seed <= seeds; seed++) {
    const next = rng(seed)
    const items = Array.from({ length: 20 }, () => randomItem(next))
    const wanted = []
    let id = ''
    for (const item of items) {
      const e = expected(item, id)
      id = e.id
      if (e.event) wanted.push(e.event)
    }
    const bytes = Buffer.from(items.map(encodeEvent).join(''))

    const ours = []
    const decoder = new EventStreamDecoder({ onEvent: (e) => ours.push(e) })
    // eventsource-parser reports ids per dispatched block only (id-only blocks never reach
    // onEvent), so it is checked on types and data; our decoder is checked on ids as well.
    const theirs = []
    const parser = createParser({ onEvent: (e) => theirs.push({ type: e.event ?? 'message', data: e.data }) })
    const text = new TextDecoder()
    for (const chunk of chunks(bytes, next)) {
      decoder.push(chunk)
      parser.feed(text.decode(chunk, { stream: true }))
    }
    const wantedData = wanted.map(({ type, data }) => ({ type, data }))
    if (!same(ours, wanted) || !same(theirs, wantedData)) {
      t.fail(`seed ${seed}: ${show(items)}`, { ours: show(ours), theirs: show(theirs), wanted: show(wanted) })
      return
    }
    checked += wanted.length
  }
  t.ok(checked > 2000, `${checked} events from ${seeds} seeds decoded exactly`)
})

test('an id-only item moves the last event id without firing an event', async (t) => {
  const events = []
  const decoder = new EventStreamDecoder({ onEvent: (e) => events.push(e) })
  decoder.push(encodeEvent({ id: 'head:7' }) + encodeEvent({ data: 'x' }))
  t.same(events, [{ type: 'message', data: 'x', lastEventId: 'head:7' }])
  t.equal(decoder.lastEventId, 'head:7')
})

function same (a, b) {
  return JSON.stringify(a) === JSON.stringify(b)
}
