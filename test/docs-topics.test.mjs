// Runs the code blocks of docs/topics.md (kept verbatim in test/readme/topics-*): the server
// over real connections, the plain EventSource page against it, the typed client type-checked
// (and a misuse of it refused) then compiled and run, and the wire example against the bytes.
import { test } from 'tap'
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import ts from 'typescript'
import Fastify from 'fastify'
import { EventSource } from 'undici'
import sse from 'fastify-typed-sse'
import topics from './readme/topics-server.mjs'
import { bodyOf, rawGet } from './helpers/app.mjs'
import { codeBlocks } from './helpers/readme.mjs'
import { until } from './helpers/wait.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dir = join(root, 'test/readme')
const guide = readFileSync(join(root, 'docs/topics.md'), 'utf8')
const block = (name) => readFileSync(join(dir, name), 'utf8')

test('every code block of docs/topics.md is a file under test/readme/', async (t) => {
  const blocks = codeBlocks(guide).map((b) => b.body)
  const files = readdirSync(dir).filter((f) => f.startsWith('topics-')).map(block)
  t.ok(blocks.length >= 5)
  for (const text of blocks.filter((b) => !b.startsWith('cursor :='))) t.ok(files.includes(text), `block found verbatim: ${text.split('\n')[0]}`)
})

/** The guide's server, with a user from a header and order stats from a counter. */
async function server (t, options = {}) {
  const app = Fastify()
  await app.register(sse, options)
  app.decorateRequest('user', null)
  app.addHook('onRequest', async (request) => { request.user = { id: request.headers['x-user'] ?? 'ann', admin: request.headers['x-admin'] === 'yes' } })
  let orders = 0
  app.decorate('orderStats', async () => ({ orders: ++orders, revenue: orders * 10.5 }))
  await app.register(topics)
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, base: `http://127.0.0.1:${app.server.address().port}` }
}

test('the server: one stream for both feeds, 404 and 403 as JSON, the bytes as the guide shows them', async (t) => {
  const { app, base } = await server(t)
  const forbidden = await fetch(`${base}/events?topics=dashboard,audit`, { headers: { accept: 'text/event-stream' } })
  t.equal(forbidden.status, 403)
  t.equal((await forbidden.json()).code, 'FST_SSE_TOPIC_FORBIDDEN')
  const unknown = await fetch(`${base}/events?topics=dashboard,chat`, { headers: { accept: 'text/event-stream' } })
  t.equal(unknown.status, 404)
  t.equal((await unknown.json()).code, 'FST_SSE_UNKNOWN_TOPIC')
  const admin = await fetch(`${base}/events?topics=audit`, { headers: { accept: 'text/event-stream', 'x-admin': 'yes' } })
  t.equal(admin.status, 200)
  await admin.body.cancel()

  // Three dashboard events before the page connects, as in the guide's example.
  const post = () => app.inject({ method: 'POST', url: '/orders', payload: { owner: 'someone-else' } })
  for (let i = 0; i < 3; i++) await post()
  const client = rawGet(app.server.address().port, '/events?topics=dashboard,bell', { accept: 'text/event-stream' })
  t.teardown(() => client.socket.destroy())
  await until(() => app.sse.metrics().subscribers === 2, 'live')
  await app.sse.publish('bell', { event: 'notification', data: { text: 'New order' } }, { key: 'ann' })
  await app.sse.publish('dashboard', { event: 'stats', data: { orders: 12, revenue: 340.5 } })
  await until(() => bodyOf(client.text).includes('340.5'), 'both events')
  // The epochs are random: compare with them masked.
  const mask = (text) => text.replace(/(id: |,)([0-9A-Za-z_-]{6})[0-9A-Za-z_-]{8}\./g, '$1$2<epoch>.')
  t.equal(mask(bodyOf(client.text)), mask(block('topics-wire.txt')), 'the exact bytes of the guide, epochs aside')
})

test('the plain EventSource page gets both feeds over one connection', async (t) => {
  const { app, base } = await server(t)
  const seen = []
  let reloads = 0
  const Page = class extends EventSource { constructor (url) { super(new URL(url, base)) } }
  const run = new Function('EventSource', 'showStats', 'ring', 'reloadBell', block('topics-page.js') + '\nreturn events') // eslint-disable-line no-new-func
  const events = run(Page, (stats) => seen.push(['stats', stats.orders]), (note) => seen.push(['bell', note.text]), () => reloads++)
  t.teardown(() => events.close())
  await until(() => app.sse.metrics().subscribers === 2, 'live')
  t.equal(app.sse.metrics().openStreams, 1, 'one stream for both feeds')
  await app.inject({ method: 'POST', url: '/orders', payload: { owner: 'ann' } })
  await until(() => seen.length === 2, 'both feeds')
  t.same(seen, [['stats', 1], ['bell', 'New order']])
  t.equal(reloads, 0)
})

test('the typed client: type-checked, a misuse refused, and run against the server', async (t) => {
  const file = join(dir, 'topics-client.ts')
  const misuse = file.replace(/\.ts$/, '.misuse.ts')
  const options = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, noEmit: true, skipLibCheck: true, allowJs: true, types: ['node'] }
  const host = ts.createCompilerHost(options)
  const readFile = host.readFile
  const fileExists = host.fileExists
  const misused = block('topics-client.ts').replace('data.orders', 'data.order')
  t.not(misused, block('topics-client.ts'), 'the control edit applies')
  host.readFile = (name) => name === misuse ? misused : readFile(name)
  host.fileExists = (name) => name === misuse || fileExists(name)
  const program = ts.createProgram([file, misuse], options, host)
  const errors = (name) => ts.getPreEmitDiagnostics(program, program.getSourceFile(name)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))
  t.same(errors(file), [], 'the block type-checks')
  t.match(errors(misuse).join('\n'), /order/, 'a wrong field does not')

  const out = join(root, 'test-artifacts/docs')
  mkdirSync(out, { recursive: true })
  const { outputText } = ts.transpileModule(block('topics-client.ts'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } })
  writeFileSync(join(out, 'topics-client.mjs'), outputText)
  const { watchPage } = await import(pathToFileURL(join(out, 'topics-client.mjs')).href)
  const { app, base } = await server(t)
  globalThis.EventSource ??= EventSource
  const lines = []
  const client = watchPage(`${base}/events`, (line) => lines.push(line))
  t.teardown(() => client.close())
  await until(() => app.sse.metrics().subscribers === 2, 'live')
  await app.inject({ method: 'POST', url: '/orders', payload: { owner: 'ann' } })
  await until(() => lines.length === 2, 'both feeds')
  t.same(lines, ['1 orders', 'bell: New order'])
})
