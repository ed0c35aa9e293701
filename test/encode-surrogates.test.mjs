// A lone surrogate has no UTF-8 form: written out it would reach the client as U+FFFD, a
// different value with no error anywhere. Strings with one are refused with a coded error, in
// every field; paired surrogates (astral characters) pass unchanged. Non-string data goes
// through JSON, which escapes a lone surrogate as \uXXXX, so it arrives intact.
import { test } from 'tap'
import { encodeEvent } from 'fastify-typed-sse'
import { decodeEvents, injectEvents } from 'fastify-typed-sse/testing'
import { build } from './helpers/app.mjs'
import { pick, rng } from './helpers/rng.mjs'

const PIECES = ['a', 'é', '日', '😀', '𝄞', '\uFFFD', ' ', ':', '\uD83D\uDE00']
const LONE = ['\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\uDE00\uD83D'] // high alone, low alone, a pair reversed

function text (next, lone) {
  const pieces = Array.from({ length: 1 + Math.floor(next() * 8) }, () => pick(next, PIECES))
  if (lone) pieces.splice(Math.floor(next() * (pieces.length + 1)), 0, pick(next, LONE))
  return pieces.join('')
}

test('generated strings: refused in data, event, id and comment exactly when they hold a lone surrogate', async (t) => {
  let refused = 0
  let kept = 0
  for (let seed = 1; seed <= 400; seed++) {
    const next = rng(seed)
    const field = pick(next, ['data', 'event', 'id', 'comment'])
    const lone = next() < 0.5
    const value = text(next, lone)
    // An event name only shows on a block with data.
    const item = field === 'event' ? { event: value, data: 'x' } : { [field]: value }
    let error
    let out
    try {
      out = encodeEvent(item)
    } catch (err) {
      error = err
    }
    if (lone) {
      if (error?.code !== 'FST_SSE_INVALID_EVENT' || !error.message.includes(`${field} contains a lone surrogate`)) {
        return t.fail(`seed ${seed}: ${field} ${escape(value)} was not refused`, { error: error?.message })
      }
      refused++
    } else {
      if (error) return t.fail(`seed ${seed}: ${field} ${escape(value)} refused: ${error.message}`)
      const events = decodeEvents(out + 'data: x\n\n')
      const seen = field === 'data' ? events[0].data : field === 'event' ? events[0].type : field === 'id' ? events[0].lastEventId : value
      if (seen !== value) return t.fail(`seed ${seed}: ${field} changed on the wire`, { seen: escape(seen), value: escape(value) })
      kept++
    }
  }
  t.ok(refused > 150 && kept > 150, `${refused} refused, ${kept} kept unchanged`)
})

test('JSON data with a lone surrogate is escaped, not refused, and arrives intact', async (t) => {
  const out = encodeEvent({ data: { s: 'a\uD800b' } })
  t.equal(out, 'data: {"s":"a\\ud800b"}\n\n')
  t.equal(JSON.parse(decodeEvents(out)[0].data).s, 'a\uD800b')
})

test('on a stream the item ends it with the error event; publish() refuses it; send() throws', async (t) => {
  const app = await build(t)
  let result
  app.get('/', async (request, reply) => { result = await reply.sse([{ data: 'ok' }, { data: 'bad\uDC00' }]) })
  let thrown
  app.get('/push', (request, reply) => {
    const stream = reply.sse.open()
    try {
      stream.send({ event: 'x\uD800', data: 'y' })
    } catch (err) {
      thrown = err
    }
    stream.send({ data: 'after' })
    stream.close()
    return stream.done
  })
  const res = await injectEvents(app, '/')
  t.same(res.events.map((e) => e.type), ['message', 'error'])
  t.equal(result.error.code, 'FST_SSE_INVALID_EVENT')
  await t.rejects(app.sse.publish('s', { data: 'lone\uD800' }), { code: 'FST_SSE_INVALID_EVENT' })
  const pushed = await injectEvents(app, '/push')
  t.equal(thrown?.code, 'FST_SSE_INVALID_EVENT')
  t.same(pushed.events.map((e) => e.data), ['after'], 'the stream stays open after the refused item')
})

function escape (s) {
  return Array.from(s, (c) => c.charCodeAt(0) > 0x7e ? '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0') : c).join('')
}
