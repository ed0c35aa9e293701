// The embedded store on its own: ids, retention, the LRU and idle caps, idempotency, live delivery.
import { test } from 'tap'
import { memoryStore, parseEventId } from 'fastify-typed-sse'

const clock = (start = 1_000_000) => {
  const c = { t: start, now: () => c.t }
  return c
}

const append = (store, key, n, data = 'x') => {
  const out = []
  for (let i = 0; i < n; i++) out.push(store.append(key, { event: 'e', data: typeof data === 'function' ? data(i) : data }))
  return Promise.all(out)
}

test('ids are <epoch>:<offset> with offsets +1 per event and one epoch per stream', async (t) => {
  const store = memoryStore()
  t.teardown(() => store.close())
  const [a, b] = await append(store, 'k', 2)
  const other = await store.append('other', { data: 'y' })
  t.match(a.id, /^[0-9A-Za-z_-]{6,32}:1$/)
  t.equal(b.offset, 2)
  t.equal(parseEventId(b.id).epoch, parseEventId(a.id).epoch)
  t.not(parseEventId(other.id).epoch, parseEventId(a.id).epoch, 'each stream has its own epoch')
  t.equal(await store.head('k'), `${parseEventId(a.id).epoch}:2`)
  t.match(await store.head('fresh'), /:0$/, 'an empty stream starts at offset 0')
  t.same(store.capabilities, { contiguousOffsets: true, shared: false })
})

test('readAfter: exactly the events after the cursor, or the reason it cannot', async (t) => {
  const store = memoryStore({ maxEvents: 5 })
  t.teardown(() => store.close())
  const events = await append(store, 'k', 8, (i) => `d${i + 1}`) // offsets 1..8; 4..8 retained
  const epoch = parseEventId(events[0].id).epoch
  const head = `${epoch}:8`
  const read = (offset, opts) => store.readAfter('k', `${epoch}:${offset}`, opts)

  const ok = await read(3)
  t.equal(ok.status, 'ok', 'first − 1 is still served')
  t.same(ok.events.map((e) => e.data), ['d4', 'd5', 'd6', 'd7', 'd8'])
  t.equal(ok.complete, true)
  t.equal(ok.head, head)
  t.same(await read(2), { status: 'gap', reason: 'trimmed', head }, 'first − 2 is trimmed')
  t.same(await read(8), { status: 'ok', events: [], head, complete: true }, 'at head: nothing')
  t.same(await read(9), { status: 'gap', reason: 'ahead', head })
  t.same(await store.readAfter('k', 'zzzzzzzz:3'), { status: 'gap', reason: 'epoch', head })
  t.same(await store.readAfter('k', 'not an id'), { status: 'gap', reason: 'malformed', head })
  const cut = await read(4, { limit: 2 })
  t.same(cut.events.map((e) => e.offset), [5, 6])
  t.equal(cut.complete, false, 'a limit that cuts the list says so')
})

test('maxBytes trims the oldest events; a stream-level retention overrides the default', async (t) => {
  const store = memoryStore({ maxBytes: 10 })
  t.teardown(() => store.close())
  const [first] = await append(store, 'k', 4, 'abcd') // 5 bytes each with the event name
  const epoch = parseEventId(first.id).epoch
  t.equal((await store.readAfter('k', `${epoch}:2`)).status, 'ok', 'two events fit in 10 bytes')
  t.equal((await store.readAfter('k', `${epoch}:1`)).reason, 'trimmed')
  const [wide] = await Promise.all([store.append('w', { data: 'abcd' }, { retention: { maxEvents: 1, maxBytes: 1000 } })])
  await store.append('w', { data: 'abcd' }, { retention: { maxEvents: 1, maxBytes: 1000 } })
  t.equal((await store.readAfter('w', wide.id)).status, 'ok')
  t.equal((await store.readAfter('w', `${parseEventId(wide.id).epoch}:0`)).reason, 'trimmed', 'maxEvents 1 from the stream')
})

test('maxAgeMs applies on read even when nothing is appended', async (t) => {
  const c = clock()
  const store = memoryStore({ maxAgeMs: 1000, now: c.now })
  t.teardown(() => store.close())
  const [first] = await append(store, 'k', 2)
  const epoch = parseEventId(first.id).epoch
  c.t += 500
  t.equal((await store.readAfter('k', `${epoch}:0`)).events.length, 2)
  c.t += 501
  t.same(await store.readAfter('k', `${epoch}:0`), { status: 'gap', reason: 'trimmed', head: `${epoch}:2` })
  t.same(await store.readAfter('k', `${epoch}:2`), { status: 'ok', events: [], head: `${epoch}:2`, complete: true }, 'a client at head loses nothing')
})

test('an idle stream is dropped with its epoch; a subscribed one is kept', async (t) => {
  const c = clock()
  const store = memoryStore({ idleTtlMs: 1000, maxAgeMs: 0, now: c.now })
  t.teardown(() => store.close())
  const old = await store.append('idle', { data: 'x' })
  await store.append('watched', { data: 'x' })
  const sub = await store.subscribe('watched')
  const watchedHead = await store.head('watched')
  c.t += 1000
  t.equal((await store.readAfter('idle', old.id)).reason, 'epoch', 'a cursor into a dropped stream is an epoch gap')
  t.equal(await store.head('watched'), watchedHead, 'live subscribers pin their stream')
  await sub.close()
  c.t += 1000
  t.not(await store.head('watched'), watchedHead, 'idle again once the last subscriber left')
})

test('maxStreams drops the least recently used unsubscribed stream', async (t) => {
  const store = memoryStore({ maxStreams: 2 })
  t.teardown(() => store.close())
  const a = await store.append('a', { data: '1' })
  const sub = await store.subscribe('a')
  const b = await store.append('b', { data: '1' })
  await store.append('c', { data: '1' })
  t.equal(store.stats.streams, 2)
  t.equal((await store.readAfter('a', a.id)).status, 'ok', 'subscribed stream kept although least recently used')
  t.equal((await store.readAfter('b', b.id)).reason, 'epoch', 'b was evicted')
  await sub.close()
})

test('maxTotalBytes trims the oldest events of the least recently used streams first', async (t) => {
  const store = memoryStore({ maxTotalBytes: 30 })
  t.teardown(() => store.close())
  const [a1] = await append(store, 'a', 2, '123456789') // 10 bytes each
  await append(store, 'b', 2, '123456789')
  t.ok(store.stats.bytes <= 30)
  const epochA = parseEventId(a1.id).epoch
  t.equal((await store.readAfter('a', `${epochA}:0`)).reason, 'trimmed', 'a lost its oldest event')
  t.equal((await store.readAfter('a', `${epochA}:1`)).events.length, 1, 'a keeps its newest')
})

test('an idempotency key stores once and answers with the first result', async (t) => {
  const store = memoryStore()
  t.teardown(() => store.close())
  const first = await store.append('k', { data: 'x', idempotencyKey: 'op-1' })
  const again = await store.append('k', { data: 'x', idempotencyKey: 'op-1' })
  const other = await store.append('k', { data: 'x', idempotencyKey: 'op-2' })
  t.same(again, first)
  t.equal(other.offset, 2)
})

test('a subscription yields every later append in order, and ends on close', async (t) => {
  const store = memoryStore()
  const sub = await store.subscribe('k')
  await append(store, 'k', 3, (i) => String(i))
  const got = []
  for await (const item of sub) {
    got.push(item.event.data)
    if (got.length === 3) break
  }
  t.same(got, ['0', '1', '2'])
  t.equal(store.stats.subscriptions, 0, 'leaving the loop released the subscription')
  const live = await store.subscribe('k')
  const it = live[Symbol.asyncIterator]()
  const pending = it.next()
  await store.close()
  t.same(await pending, { value: undefined, done: true }, 'close ends a waiting subscriber')
  await t.rejects(store.append('k', { data: 'x' }), { code: 'FST_SSE_STORE_CLOSED' })
})

test('bad options and inputs are refused with coded errors', async (t) => {
  t.throws(() => memoryStore({ maxEvents: 0 }), { code: 'FST_SSE_INVALID_STORE_OPTION' })
  t.throws(() => memoryStore({ maxAgeMs: -1 }), { code: 'FST_SSE_INVALID_STORE_OPTION' })
  t.throws(() => memoryStore({ now: 5 }), { code: 'FST_SSE_INVALID_STORE_OPTION' })
  const store = memoryStore()
  t.teardown(() => store.close())
  // The same checks, and codes, as the Redis store's.
  for (const input of [{ data: 5 }, null, 'x', { event: 'e' }, { data: 'x', event: 5 }, { data: 'x', event: {} }]) {
    await t.rejects(store.append('k', input), { code: 'FST_SSE_INVALID_STORE_ARGUMENT', name: 'FastifyError', message: /^Invalid argument to memoryStore append\(\): input/ }, JSON.stringify(input))
  }
  for (const idempotencyKey of ['', 5, {}, null, ['k']]) {
    await t.rejects(store.append('k', { data: 'x', idempotencyKey }), { code: 'FST_SSE_INVALID_STORE_ARGUMENT', message: /idempotencyKey/ }, `idempotencyKey ${JSON.stringify(idempotencyKey)}`)
  }
  t.ok(await store.append('k', { data: 5 }).catch((err) => err) instanceof TypeError, 'still a TypeError')
  t.match(await store.head('k'), /:0$/, 'nothing was stored')
})
