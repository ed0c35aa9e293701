// Accept negotiation (RFC 9110 §12.5.1). On ordinary routes a client whose Accept does not
// accept text/event-stream gets 406 FST_SSE_NOT_ACCEPTABLE; no header, */* and text/* keep
// working. On a dual route (`sse.alternative`) the handler runs for every client and
// `reply.sse.accepted` says whether the client prefers the stream. Headers are generated from
// the grammar (with a model of their meaning) and hostile ones (huge, many parameters, odd
// whitespace, bad q-values) must get 200 or 406, never a 500, quickly.
import { test } from 'tap'
import { build, listen, rawGet, startPathRoutes } from './helpers/app.mjs'
import { rng, pick } from './helpers/rng.mjs'
import { until } from './helpers/wait.mjs'

async function setup (t) {
  const app = await build(t)
  startPathRoutes(app, 'hi')
  app.get('/dual', { sse: { alternative: 'application/json' } }, (request, reply) => {
    if (!reply.sse.accepted) return { snapshot: true }
    return reply.sse([{ data: 'live' }])
  })
  return app
}

const OWS = ['', ' ', '  ', '\t', ' \t ']

/** A media range with a known q (in thousandths), written with random whitespace and parameters. */
function genRange (next) {
  const kind = pick(next, ['es', 'es', 'text/*', '*/*', 'application/json', 'text/html', 'image/png', 'es-param'])
  let q = next() < 0.4 ? 1000 : Math.floor(next() * 1001)
  if (next() < 0.15) q = 0
  let media = kind === 'es' ? pick(next, ['text/event-stream', 'TEXT/Event-Stream']) : kind === 'es-param' ? 'text/event-stream' : kind
  if (kind === 'es-param') media += pick(next, OWS) + ';' + pick(next, OWS) + pick(next, ['charset=utf-8', 'charset="UTF-8"', 'charset=latin1'])
  let text = media
  const weighted = q !== 1000 || next() < 0.3
  if (weighted) {
    const qs = q === 1000 ? pick(next, ['1', '1.0', '1.000']) : '0.' + String(q).padStart(3, '0').replace(/0+$/, '') || '0'
    text += pick(next, OWS) + ';' + pick(next, OWS) + pick(next, ['q', 'Q']) + '=' + (q === 0 ? pick(next, ['0', '0.0', '0.000']) : qs)
  }
  // After q a parameter is an accept-ext and ignored; before it, it would be a media type parameter.
  if (weighted && next() < 0.2) text += ';ext=1'
  const specificity = kind === '*/*' ? 0 : kind === 'text/*' ? 1 : kind === 'es' ? 2 : kind === 'es-param' ? (media.includes('latin1') ? -1 : 3) : -1
  return { text, q, specificity, json: kind === 'application/json' ? 2 : kind === '*/*' ? 0 : -1 }
}

/** The model: the q of the most specific matching range (highest q among equally specific ones). */
function modelQ (ranges, key) {
  let best = { q: 0, s: -1 }
  for (const r of ranges) {
    const s = r[key]
    if (s < 0) continue
    if (s > best.s || (s === best.s && r.q > best.q)) best = { q: r.q, s }
  }
  return best
}

test('no Accept, */*, text/*, text/event-stream and browser defaults get the stream on every start path', async (t) => {
  const app = await setup(t)
  for (const accept of [undefined, '*/*', 'text/*', 'text/event-stream', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8']) {
    for (const url of ['/source', '/open', '/sub']) {
      const res = await app.inject({ url, headers: accept === undefined ? {} : { accept }, payloadAsStream: true })
      t.equal(res.statusCode, 200, `${url} with ${accept}`)
      t.match(res.headers['content-type'], 'text/event-stream')
      res.stream().destroy()
    }
  }
})

test('a client that does not accept an event stream gets 406 with a coded, readable body, before any stream starts', async (t) => {
  const app = await setup(t)
  for (const accept of ['application/json', 'text/event-stream;q=0', 'text/html, */*;q=0', 'text/event-stream;charset=latin1']) {
    for (const url of ['/source', '/open', '/sub']) {
      const res = await app.inject({ url, headers: { accept } })
      t.equal(res.statusCode, 406, `${url} with ${accept}`)
      t.equal(res.json().code, 'FST_SSE_NOT_ACCEPTABLE')
      t.match(res.json().message, 'text/event-stream')
    }
  }
  t.equal(app.sse.openStreams, 0)
  t.equal(app.sse.metrics().streamsOpened, 0, 'no stream was opened for a refused client')
})

test('dual route: EventSource gets the stream; fetch and curl (*/*) and no header get the alternative', async (t) => {
  const app = await setup(t)
  const cases = [
    [undefined, false], ['*/*', false], ['text/event-stream', true], ['application/json', false],
    ['application/json;q=0.5, text/event-stream', true], ['text/event-stream;q=0.5, application/json', false],
    ['text/event-stream, application/json', false], ['text/*', true], ['text/event-stream;q=0, */*', false]
  ]
  for (const [accept, stream] of cases) {
    const res = await app.inject({ url: '/dual', headers: accept === undefined ? {} : { accept } })
    t.equal(res.statusCode, 200)
    if (stream) t.match(res.body, 'data: live', `${accept}: stream`)
    else t.same(res.json(), { snapshot: true }, `${accept}: snapshot`)
  }
})

test('generated Accept headers agree with the model of RFC 9110 (406 exactly when q = 0)', async (t) => {
  const app = await setup(t)
  const next = rng(0xacce97)
  for (let i = 0; i < 400; i++) {
    const ranges = Array.from({ length: 1 + Math.floor(next() * 5) }, () => genRange(next))
    const accept = ranges.map((r) => r.text).join(pick(next, [',', ', ', ' ,\t', ',,']))
    const es = modelQ(ranges, 'specificity')
    const res = await app.inject({ url: '/source', headers: { accept } })
    t.equal(res.statusCode, es.q > 0 ? 200 : 406, `seed 0xacce97 #${i}: ${JSON.stringify(accept)}`)
    const json = modelQ(ranges, 'json')
    const dual = await app.inject({ url: '/dual', headers: { accept } })
    const prefers = es.q > 0 && (es.q > json.q || (es.q === json.q && es.s > json.s))
    t.equal(dual.body.includes('data: live'), prefers, `dual #${i}: ${JSON.stringify(accept)}`)
  }
})

test('hostile Accept headers: huge, many parameters, odd whitespace, bad q; 200 or 406 and never slow', async (t) => {
  const app = await setup(t)
  const next = rng(0xbad)
  const junk = ['"', '\\', ';', '=', ',', 'q=', 'q=2', 'q=-1', 'q=0.0001', 'q=1.5', 'q=NaN', 'q=.5', '/', '*', '\t', ' ', '\u00ff', 'a', 'text/event-stream', '"a,b"']
  const headers = [
    'text/event-stream' + ';a=b'.repeat(5000),
    'a/b,'.repeat(20000) + 'text/event-stream',
    ' '.repeat(100000) + 'text/event-stream',
    'text/event-stream;q="1"',
    'text/event-stream;q=1.001',
    'text/event-stream;p="unterminated, */*',
    '*/event-stream',
    ';;;,,,;;;'
  ]
  for (let i = 0; i < 300; i++) {
    let h = ''
    const n = Math.floor(next() * 40)
    for (let k = 0; k < n; k++) h += pick(next, junk)
    headers.push(h)
  }
  for (const accept of headers) {
    const started = performance.now()
    const res = await app.inject({ url: '/source', headers: { accept } })
    t.ok(res.statusCode === 200 || res.statusCode === 406, `status ${res.statusCode} for ${JSON.stringify(accept.slice(0, 60))}`)
    t.ok(performance.now() - started < 2000, 'answered promptly')
    const dual = await app.inject({ url: '/dual', headers: { accept } })
    t.equal(dual.statusCode, 200)
  }
})

test('over a real socket: 406 carries a JSON body and the connection stays usable', async (t) => {
  const app = await setup(t)
  const port = await listen(app)
  const refused = rawGet(port, '/source', { accept: 'application/json' })
  await refused.closed
  t.match(refused.text, /^HTTP\/1.1 406/)
  t.match(refused.text, 'FST_SSE_NOT_ACCEPTABLE')
  const ok = rawGet(port, '/source', { accept: 'text/event-stream' })
  await ok.closed
  t.match(ok.text, /^HTTP\/1.1 200/)
  t.match(ok.text, 'data: hi')
  await until(() => app.sse.openStreams === 0, 'streams closed')
})
