// Event maps of Standard Schema values (Zod 4, Valibot 1, ArkType 2), alone and mixed with
// TypeBox: validated by each schema's own `validate`, serialized from its JSON Schema (or with
// JSON.stringify where it has none), invalid data reported by path and expectation only.
import { test } from 'tap'
import { z } from 'zod'
import * as v from 'valibot'
import { type } from 'arktype'
import { Type } from 'typebox'
import { Type as Type034 } from '@sinclair/typebox'
import { injectEvents } from 'fastify-typed-sse/testing'
import { build } from './helpers/app.mjs'
import { failOnEscapes } from './helpers/escapes.mjs'
import { rng, pick } from './helpers/rng.mjs'

/** The same two events in each library: `progress` { step: string, percent: integer 0..100 }, `done` { ok: boolean }. */
const libraries = {
  zod: {
    progress: z.object({ step: z.string(), percent: z.number().int().min(0).max(100) }),
    done: z.object({ ok: z.boolean() })
  },
  valibot: {
    progress: v.object({ step: v.string(), percent: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(100)) }),
    done: v.object({ ok: v.boolean() })
  },
  arktype: {
    progress: type({ step: 'string', percent: '0 <= number.integer <= 100' }),
    done: type({ ok: 'boolean' })
  }
}

const good = { event: 'progress', data: { step: 'a', percent: 10 } }
const last = { event: 'done', data: { ok: true } }

function route (app, sse, items) {
  app.get('/s', { sse }, (request, reply) => reply.sse(items))
}

const framed = (got) => got.map((e) => [e.type, e.data])
/** Event names and parsed data: ArkType's JSON Schema lists properties in its own order. */
const parsed = (got) => got.map((e) => [e.type, JSON.parse(e.data)])

for (const [library, events] of Object.entries(libraries)) {
  test(`${library}: valid items go out as JSON; an invalid one ends the stream, logged by path and expectation`, async (t) => {
    failOnEscapes(t)
    const app = await build(t)
    route(app, { events }, [good, last, { event: 'progress', data: { step: 'b', percent: 'SECRET-VALUE' } }, last])
    const { events: got } = await injectEvents(app, '/s')
    t.same(parsed(got), [
      ['progress', { step: 'a', percent: 10 }],
      ['done', { ok: true }],
      ['error', { message: 'Internal Server Error' }]
    ])
    const line = app.logs.find((l) => l.err?.code === 'FST_SSE_INVALID_PAYLOAD')
    t.ok(line, 'logged with its code')
    t.equal(line.err.path, '/percent')
    t.equal(line.err.event, 'progress')
    t.match(line.err.message, /^Invalid data for event "progress" at \/percent: expected .*number/)
    t.notMatch(JSON.stringify(app.logs), /SECRET-VALUE/, 'the value is nowhere in the logs')
  })

  test(`${library}: out of range, missing fields and nested paths`, async (t) => {
    const app = await build(t)
    route(app, { events, onInvalid: 'skip' }, [
      { event: 'progress', data: { step: 'b', percent: 150 } },
      { event: 'progress', data: { percent: 1 } },
      { event: 'done', data: 'no' },
      last
    ])
    const { events: got } = await injectEvents(app, '/s')
    t.same(got.map((e) => e.type), ['done'])
    const skipped = app.logs.filter((l) => l.msg === 'event stream item skipped')
    t.same(skipped.map((l) => [l.err.code, l.err.path]), [
      ['FST_SSE_INVALID_PAYLOAD', '/percent'],
      ['FST_SSE_INVALID_PAYLOAD', '/step'],
      ['FST_SSE_INVALID_PAYLOAD', '/']
    ])
    t.match(skipped[0].err.message, /100/, 'the bound the schema sets is named')
    t.notMatch(skipped[0].err.message, /150/, 'the value is not')
  })

  test(`${library}: onInvalid 'skip' drops invalid items and unknown events, and goes on`, async (t) => {
    const app = await build(t)
    route(app, { events, onInvalid: 'skip' }, [good, { event: 'progress', data: { step: 1, percent: 1 } }, { event: 'nope', data: {} }, last])
    const { events: got } = await injectEvents(app, '/s')
    t.same(got.map((e) => e.type), ['progress', 'done'])
    const skipped = app.logs.filter((l) => l.msg === 'event stream item skipped')
    t.same(skipped.map((l) => l.err.code), ['FST_SSE_INVALID_PAYLOAD', 'FST_SSE_UNKNOWN_EVENT'])
    t.equal(skipped[0].level, 40, 'as a warning')
  })

  test(`${library}: an event outside the map ends the stream`, async (t) => {
    const app = await build(t)
    route(app, { events }, [{ event: 'progres', data: { step: 'a', percent: 1 } }, last])
    const { events: got } = await injectEvents(app, '/s')
    t.same(got.map((e) => e.type), ['error'])
    t.match(app.logs.find((l) => l.err?.code === 'FST_SSE_UNKNOWN_EVENT')?.err.message, /declared: progress, done/)
  })

  test(`${library}: pushed streams throw the coded error for an invalid item and stay open`, async (t) => {
    const app = await build(t)
    app.get('/p', { sse: { events } }, (request, reply) => {
      const stream = reply.sse.open()
      const err = (() => { try { stream.send({ event: 'done', data: { ok: 'SECRET' } }) } catch (e) { return e } })()
      t.equal(err?.code, 'FST_SSE_INVALID_PAYLOAD')
      t.equal(err?.path, '/ok')
      t.notMatch(err?.message, /SECRET/)
      stream.send(last)
      stream.close()
      return stream.done
    })
    const { events: got } = await injectEvents(app, '/p')
    t.same(framed(got), [['done', '{"ok":true}']])
  })
}

test('generated hostile values never appear in messages or logs, whatever the library', async (t) => {
  failOnEscapes(t)
  const seed = Number(process.env.SEED ?? Date.now() % 100000)
  t.comment(`SEED=${seed}`)
  const next = rng(seed)
  const marker = () => `S3CR3T${Math.floor(next() * 1e9)}`
  // Each makes a value for a field that wants a number (`percent`) or a boolean (`ok`), never
  // of that type, carrying the marker where a message could quote it.
  const hostile = [
    (m) => m,
    (m) => `"${m}"\n\r\u2028`,
    (m) => ({ [m]: m }),
    (m) => [m, { nested: m }],
    (m) => `${m}`.repeat(50),
    (m) => ({ toString: () => m, valueOf: () => m }),
    (m) => `</script>${m}\u0000`
  ]
  const app = await build(t)
  const cases = []
  for (const [library, events] of Object.entries(libraries)) {
    for (let i = 0; i < 40; i++) {
      const m = marker()
      const field = next() < 0.5 ? 'progress' : 'done'
      const bad = pick(next, hostile)(m)
      const data = field === 'progress' ? { step: next() < 0.5 ? 'a' : m.length, percent: bad } : { ok: bad }
      cases.push({ library, events, m, item: { event: field, data } })
    }
  }
  // Each case pushes its item, logs what send() threw, then a valid item.
  cases.forEach(({ events, item }, i) => app.get(`/h${i}`, { sse: { events } }, (request, reply) => {
    const stream = reply.sse.open()
    try {
      stream.send(item)
    } catch (err) {
      request.log.warn({ err }, 'refused')
    }
    stream.send(last)
    stream.close()
    return stream.done
  }))
  for (let i = 0; i < cases.length; i++) {
    const { library } = cases[i]
    const { events: got } = await injectEvents(app, `/h${i}`)
    t.same(got.map((e) => e.type), ['done'], `${library} #${i}: the invalid item refused, the stream goes on`)
  }
  const logged = JSON.stringify(app.logs)
  const leaked = cases.filter(({ m }) => logged.includes(m))
  t.same(leaked.map(({ library, item }) => `${library}: ${JSON.stringify(item).slice(0, 80)}`), [], `no marker in ${app.logs.length} log lines (SEED=${seed})`)
  t.equal(app.logs.filter((l) => l.err?.code === 'FST_SSE_INVALID_PAYLOAD').length, cases.length, 'each refusal logged with its code')
})

test('transforms: the handler yields the input, the validated output is what is sent (JSON.stringify where no JSON Schema exists)', async (t) => {
  const events = {
    zod: z.object({ at: z.string().transform((s) => new Date(s)), n: z.string().transform((s) => s.length) }),
    valibot: v.pipe(v.string(), v.transform((s) => s.toUpperCase())),
    arktype: type('string').pipe((s) => ({ length: s.length }))
  }
  const app = await build(t)
  route(app, { events }, [
    { event: 'zod', data: { at: '2024-01-02T03:04:05.000Z', n: 'four' } },
    { event: 'valibot', data: 'shout' },
    { event: 'arktype', data: 'abc' }
  ])
  const { events: got } = await injectEvents(app, '/s')
  t.same(framed(got), [
    ['zod', '{"at":"2024-01-02T03:04:05.000Z","n":4}'],
    ['valibot', '"SHOUT"'],
    ['arktype', '{"length":3}']
  ])
})

test('a transform whose output has no JSON form ends the stream with FST_SSE_SERIALIZE', async (t) => {
  const app = await build(t)
  route(app, { events: { big: z.string().transform((s) => BigInt(s.length)), none: v.pipe(v.string(), v.transform(() => undefined)) }, onInvalid: 'skip' }, [
    { event: 'none', data: 'x' },
    { event: 'big', data: 'x' }
  ])
  const { events: got } = await injectEvents(app, '/s')
  t.same(got.map((e) => e.type), ['error'], 'not skipped: the data was valid, its output cannot be sent')
  t.same(app.logs.filter((l) => l.err !== undefined).map((l) => l.err.code), ['FST_SSE_SERIALIZE'])
})

test('serialization is the compiled one where a JSON Schema exists: undeclared properties of the output are left out', async (t) => {
  // ArkType keeps undeclared keys in its output; the serializer compiled from its JSON Schema drops them.
  const app = await build(t)
  route(app, { events: { p: libraries.arktype.progress } }, [{ event: 'p', data: { step: 'a', percent: 1, secret: 'x' } }])
  const { events: got } = await injectEvents(app, '/s')
  t.same(framed(got), [['p', '{"percent":1,"step":"a"}']])
})

test('mixed maps: Zod, Valibot, ArkType, TypeBox 1.x and 0.34 in one map', async (t) => {
  const events = {
    zod: libraries.zod.done,
    valibot: v.number(),
    arktype: type('string'),
    typebox: Type.Object({ b: Type.Integer() }),
    sinclair: Type034.Array(Type034.String())
  }
  const app = await build(t)
  route(app, { events, onInvalid: 'skip' }, [
    { event: 'zod', data: { ok: true } },
    { event: 'valibot', data: 1.5 },
    { event: 'arktype', data: 'x' },
    { event: 'typebox', data: { b: 2 } },
    { event: 'sinclair', data: ['y'] },
    { event: 'valibot', data: 'one' },
    { event: 'typebox', data: { b: 'two' } }
  ])
  const { events: got } = await injectEvents(app, '/s')
  t.same(framed(got), [['zod', '{"ok":true}'], ['valibot', '1.5'], ['arktype', '"x"'], ['typebox', '{"b":2}'], ['sinclair', '["y"]']])
  t.same(app.logs.filter((l) => l.msg === 'event stream item skipped').map((l) => l.err.path), ['/', '/b'])
})

test('a replay stream with a Zod map refuses an invalid publish and stores nothing', async (t) => {
  failOnEscapes(t)
  const app = await build(t)
  const events = { tick: z.object({ n: z.number().int() }), at: z.string().transform((s) => s.length) }
  const clocks = app.sse.stream('clocks', { events })
  app.get('/clocks', (request, reply) => reply.sse.subscribe(clocks))
  await app.ready()
  const before = await clocks.head()
  const err = await clocks.publish({ event: 'tick', data: { n: 'SECRET' } }).then(() => undefined, (e) => e)
  t.equal(err?.code, 'FST_SSE_INVALID_PAYLOAD')
  t.equal(err?.path, '/n')
  t.notMatch(err?.message, /SECRET/)
  const unknown = await clocks.publish({ event: 'tock', data: { n: 1 } }).then(() => undefined, (e) => e)
  t.equal(unknown?.code, 'FST_SSE_UNKNOWN_EVENT')
  t.equal(await clocks.head(), before, 'nothing stored')
  await clocks.publish({ event: 'tick', data: { n: 1 } })
  await clocks.publish({ event: 'at', data: 'four' })
  const { events: got } = await injectEvents(app, { url: '/clocks', headers: { 'last-event-id': before } }, { count: 2 })
  t.same(framed(got), [['tick', '{"n":1}'], ['at', '4']], 'replayed: the valid ones, transformed once, at publish')
})

test('asynchronous schemas are refused at start-up with FST_SSE_INVALID_SCHEMA', async (t) => {
  const cases = {
    valibot: v.pipeAsync(v.string(), v.checkAsync(async () => true)),
    zod: z.object({ name: z.string().refine(async () => true) })
  }
  for (const [library, schema] of Object.entries(cases)) {
    const app = await build(t)
    const err = (() => { try { route(app, { events: { e: schema } }, []) } catch (e) { return e } })()
    t.equal(err?.code, 'FST_SSE_INVALID_SCHEMA', library)
    t.match(err?.message, /validates asynchronously/, library)
  }
})

test('an asynchronous check the start-up probe cannot reach is refused on the first item that reaches it', async (t) => {
  failOnEscapes(t)
  const app = await build(t)
  // A hand-written Standard Schema that answers with a (rejecting) promise for one value only.
  const schema = { '~standard': { version: 1, vendor: 'custom', validate: (value) => value === 'later' ? Promise.reject(new Error('rejected later')) : { value } } }
  route(app, { events: { e: schema } }, [{ event: 'e', data: 'now' }, { event: 'e', data: 'later' }])
  const { events: got } = await injectEvents(app, '/s')
  t.same(framed(got), [['e', '"now"'], ['error', '{"message":"Internal Server Error"}']])
  t.equal(app.logs.find((l) => l.err)?.err.code, 'FST_SSE_INVALID_SCHEMA')
})

test('a function that is not a Standard Schema is refused as an event schema', async (t) => {
  const app = await build(t)
  const err = (() => { try { route(app, { events: { e: () => true } }, []) } catch (e) { return e } })()
  t.equal(err?.code, 'FST_SSE_INVALID_ROUTE_OPTION')
  t.match(err?.message, /must be a schema object, got function/)
})

test('validate: false serializes a Standard Schema event without calling its validate', async (t) => {
  let calls = 0
  const counted = { '~standard': { version: 1, vendor: 'counted', validate: (value) => { calls++; return { value } } } }
  const app = await build(t)
  route(app, { events: { e: counted }, validate: false }, [{ event: 'e', data: { any: 'thing' } }])
  const { events: got } = await injectEvents(app, '/s')
  t.same(framed(got), [['e', '{"any":"thing"}']])
  t.equal(calls, 0)
})
