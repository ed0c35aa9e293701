import { test } from 'tap'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { Type } from '@sinclair/typebox'
import { EventSource } from 'undici'
import { createSseClient } from 'fastify-typed-sse/client'
import { build, listen } from './helpers/app.mjs'

const Progress = Type.Object({ step: Type.String(), percent: Type.Integer() })
const Done = Type.Object({ ok: Type.Boolean() })

/** Resolves with what `collect` gathered once `client` reports it is finished. */
function run (client, collect) {
  return new Promise((resolve) => collect(resolve))
}

test('typed listeners get parsed data over a real connection', async (t) => {
  const app = await build(t)
  app.get('/jobs/:id/progress', { sse: { events: { progress: Progress, done: Done } } }, (request, reply) => reply.sse([
    { event: 'progress', id: 1, data: { step: 'Validating\nstep', percent: 33 } },
    { event: 'progress', id: 2, data: { step: 'Copying', percent: 66 } },
    { event: 'done', id: 3, data: { ok: true } }
  ]))
  const port = await listen(app)
  const client = createSseClient(`http://127.0.0.1:${port}/jobs/1/progress`, { EventSource })
  t.teardown(() => client.close())
  const seen = []
  await run(client, (finish) => {
    client.on('progress', (data, message) => seen.push(['progress', data.step, data.percent, message.lastEventId]))
    client.on('done', (data, message) => {
      seen.push(['done', data.ok, message.lastEventId])
      client.close()
      finish()
    })
  })
  t.same(seen, [
    ['progress', 'Validating\nstep', 33, '1'],
    ['progress', 'Copying', 66, '2'],
    ['done', true, '3']
  ])
  t.equal(client.source.readyState, 2, 'closed for good')
})

test('the default event arrives through on("message"); unsubscribing stops delivery', async (t) => {
  const app = await build(t)
  app.get('/chat', { sse: { events: { message: Type.Object({ text: Type.String() }), end: Done } } }, (request, reply) =>
    reply.sse([{ data: { text: 'a' } }, { event: 'message', data: { text: 'b' } }, { event: 'end', data: { ok: true } }]))
  const port = await listen(app)
  const client = createSseClient(`http://127.0.0.1:${port}/chat`, { EventSource })
  t.teardown(() => client.close())
  const texts = []
  const removed = []
  await run(client, (finish) => {
    client.on('message', (data) => texts.push(data.text))
    const off = client.on('message', (data) => { removed.push(data.text); off() })
    client.on('end', () => { client.close(); finish() })
  })
  t.same(texts, ['a', 'b'])
  t.same(removed, ['a'], 'a removed listener hears nothing more')
})

test('unparsable data, the server error event and connection failures reach onError', async (t) => {
  const app = await build(t)
  // No schema here, so the plain string goes out as is and is not JSON.
  app.get('/broken', (request, reply) => reply.sse(async function * () {
    yield { event: 'progress', data: 'not json' }
    throw new Error('job failed')
  }))
  const port = await listen(app)
  const client = createSseClient(`http://127.0.0.1:${port}/broken`, { EventSource })
  t.teardown(() => client.close())
  const errors = []
  let progressCalls = 0
  await run(client, (finish) => {
    client.on('progress', () => { progressCalls++ })
    client.onError((error) => {
      errors.push(error)
      if (error.type === 'server') finish()
    })
  })
  t.equal(progressCalls, 0, 'the listener is not called with data it cannot have')
  t.match(errors[0], { type: 'parse', event: 'progress', data: 'not json' })
  t.ok(errors[0].error instanceof SyntaxError)
  t.same(errors[1], { type: 'server', data: { message: 'Internal Server Error' } })

  // The stream ended, so EventSource reports a connection error (and would reconnect).
  await new Promise((resolve) => client.onError((error) => { if (error.type === 'connection') resolve() }))
  client.close()
  t.pass('connection errors are reported too')
})

test('a custom parse and the missing-EventSource error', async (t) => {
  const app = await build(t)
  app.get('/text', (request, reply) => reply.sse([{ event: 'line', data: 'plain' }, { event: 'end', data: 'x' }]))
  const port = await listen(app)
  const client = createSseClient(`http://127.0.0.1:${port}/text`, { EventSource, parse: (text, event) => `${event}:${text}` })
  t.teardown(() => client.close())
  const got = await run(client, (finish) => {
    client.on('line', (data) => { client.close(); finish(data) })
  })
  t.equal(got, 'line:plain')
  const err = (() => { try { createSseClient('http://127.0.0.1:1/') } catch (e) { return e } })()
  t.ok(err instanceof TypeError, 'no EventSource here: a TypeError')
  t.equal(err?.code, 'FST_SSE_NO_EVENTSOURCE', 'with its code')
  t.match(err?.message, /no EventSource/)
})

test('the client build loads nothing but its sibling that shares a connection across tabs: no server code, no TypeBox', async (t) => {
  const require = createRequire(import.meta.url)
  for (const condition of ['import', 'require']) {
    const file = condition === 'import'
      ? fileURLToPath(import.meta.resolve('fastify-typed-sse/client'))
      : require.resolve('fastify-typed-sse/client')
    const code = readFileSync(file, 'utf8')
    const loads = condition === 'import'
      ? [...code.matchAll(/^\s*import\s[^'"]*['"]([^'"]+)['"]/gm)].map((match) => match[1])
      : [...code.matchAll(/\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g)].map((match) => match[1])
    t.same(loads, ['./client-share.js'], `${condition}: the client loads only its sibling`)
    t.notMatch(code, /\bimport\s*\(/, `${condition}: no dynamic import`)
    t.match(code, /createSseClient/, `${condition}: it is the client file`)
    const share = readFileSync(join(dirname(file), 'client-share.js'), 'utf8')
    t.notMatch(share, /^\s*import[\s{*]/m, `${condition}: the sibling has no import statement`)
    t.notMatch(share, /\bimport\s*\(/, `${condition}: the sibling has no dynamic import`)
    t.notMatch(share, /\brequire\s*\(/, `${condition}: the sibling has no require`)
    t.match(share, /sharedEventSource/, `${condition}: it is the sharing file`)
  }
  t.equal(typeof require('fastify-typed-sse/client').createSseClient, 'function', 'require() loads it too')
})
