import { test } from 'tap'
import { bodyOf, build, listen, rawGet } from './helpers/app.mjs'

async function echo (t, pluginOptions) {
  const app = await build(t, pluginOptions)
  app.get('/', (request, reply) => reply.sse(({ lastEventId }) => [{ data: JSON.stringify({ lastEventId, fromReply: reply.sse.lastEventId }) }]))
  return app
}

async function seen (app, options) {
  const res = await app.inject({ url: '/', ...options })
  const line = res.body.split('\n').find((l) => l.startsWith('data: '))
  return JSON.parse(line.slice(6))
}

test('the header is handed to the producer and exposed on reply.sse', async (t) => {
  const app = await echo(t)
  t.same(await seen(app, { headers: { 'last-event-id': 'abc:42' } }), { lastEventId: 'abc:42', fromReply: 'abc:42' })
  t.same(await seen(app, {}), {}, 'absent: undefined')
  t.same(await seen(app, { headers: { 'last-event-id': '' } }), {}, 'empty means no position')
})

test('UTF-8 ids sent by a real client are recovered from Node\'s latin1 header decoding', async (t) => {
  const app = await echo(t)
  const port = await listen(app)
  const id = 'é 日本 😀'
  // The raw bytes on the wire, as a browser sends them: UTF-8.
  const client = rawGet(port, '/', { 'last-event-id': Buffer.from(id, 'utf8').toString('latin1') })
  await client.closed
  const body = bodyOf(client.text)
  t.same(JSON.parse(body.split('\n').find((l) => l.startsWith('data: ')).slice(6)).lastEventId, id)
})

test('the lastEventId query parameter is used when the header is absent, and the header wins', async (t) => {
  const app = await echo(t)
  t.same((await seen(app, { url: '/?lastEventId=q1' })).lastEventId, 'q1')
  t.same((await seen(app, { url: '/?lastEventId=q1', headers: { 'last-event-id': 'h1' } })).lastEventId, 'h1')
  const renamed = await echo(t, { lastEventIdQuery: 'cursor' })
  t.same((await seen(renamed, { url: '/?cursor=c1&lastEventId=q1' })).lastEventId, 'c1')
  const off = await echo(t, { lastEventIdQuery: false })
  t.same(await seen(off, { url: '/?lastEventId=q1' }), {})
})

test('hostile values are refused, never truncated or passed on', async (t) => {
  const app = await echo(t, { maxLastEventIdLength: 64 })
  t.same(await seen(app, { headers: { 'last-event-id': 'x'.repeat(65) } }), {}, 'over the cap')
  t.same(await seen(app, { headers: { 'last-event-id': 'x'.repeat(8192) } }), {}, '8 KB')
  t.same((await seen(app, { headers: { 'last-event-id': 'x'.repeat(64) } })).lastEventId, 'x'.repeat(64), 'at the cap')
  t.same(await seen(app, { url: '/?lastEventId=a%0Ab' }), {}, 'LF through the query')
  t.same(await seen(app, { url: '/?lastEventId=a%0Db' }), {}, 'CR through the query')
  t.same(await seen(app, { url: '/?lastEventId=a%00b' }), {}, 'NUL through the query')
  t.same(await seen(app, { headers: { 'last-event-id': Buffer.from([0xff, 0xfe]).toString('latin1') } }), {}, 'bytes that are not UTF-8')
  t.same(await seen(app, { url: '/?lastEventId=a&lastEventId=b' }), { lastEventId: 'a', fromReply: 'a' }, 'a repeated parameter: the first')
  t.same((await seen(app, { headers: { 'last-event-id': '€'.repeat(21) } })).lastEventId, '€'.repeat(21), '63 bytes of multi-byte characters fit')
})
