// Runs the code blocks of the README's "Typed routes" (kept verbatim in test/readme/typed-*.ts): each is
// type-checked against the built package, then compiled and run.
import { test } from 'tap'
import { readmeSection } from './helpers/readme.mjs'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import ts from 'typescript'
import { EventSource } from 'undici'
import { injectEvents } from 'fastify-typed-sse/testing'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const blocks = ['typed-route.ts', 'typed-client.ts', 'typed-options.ts', 'typed-provider.ts'].map((name) => join(root, 'test/readme', name))
const compilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: ['node']
}

// Parsed declaration files (the package's, Fastify's, TypeBox's, @types/node) are shared by
// the checks: parsing them again for each one takes most of a minute on a busy machine.
const parsed = new Map()

/** Type errors of the blocks (of the swapped file alone, if any); `replace` swaps one file's text first. */
function typeErrors (replace = {}) {
  const host = ts.createCompilerHost(compilerOptions)
  const readFile = host.readFile
  const getSourceFile = host.getSourceFile
  host.readFile = (file) => replace[file] ?? readFile(file)
  host.getSourceFile = (file, ...rest) => {
    if (blocks.includes(file) || file in replace) return getSourceFile(file, ...rest)
    if (!parsed.has(file)) parsed.set(file, getSourceFile(file, ...rest))
    return parsed.get(file)
  }
  const program = ts.createProgram(blocks, compilerOptions, host)
  const [swapped] = Object.keys(replace)
  return ts.getPreEmitDiagnostics(program, swapped && program.getSourceFile(swapped)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))
}

/** Compiles the blocks to JavaScript next to the package, so their imports resolve as a user's would. */
async function load () {
  const out = join(root, 'test-artifacts/readme')
  mkdirSync(out, { recursive: true })
  for (const file of blocks) {
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }
    })
    // .mjs, since this folder has no package.json of its own (that would hide the package's self-reference).
    writeFileSync(join(out, basename(file, '.ts') + '.mjs'), outputText.replaceAll("from './typed-route.js'", "from './typed-route.mjs'"))
  }
  const url = (name) => pathToFileURL(join(out, name)).href
  return {
    route: await import(url('typed-route.mjs')),
    client: await import(url('typed-client.mjs')),
    options: await import(url('typed-options.mjs')),
    provider: await import(url('typed-provider.mjs'))
  }
}

test('the blocks type-check, and a wrong payload in them does not', async (t) => {
  t.same(typeErrors(), [])
  const route = blocks[0]
  const broken = readFileSync(route, 'utf8').replace('percent: 33 }', "percent: '33' }")
  t.not(broken, readFileSync(route, 'utf8'), 'the control edit applies')
  t.match(typeErrors({ [route]: broken }).join('\n'), /string.*not assignable to type 'number'/s)
  const client = blocks[1]
  const misuse = readFileSync(client, 'utf8').replace('data.percent', 'data.percentage')
  t.match(typeErrors({ [client]: misuse }).join('\n'), /percentage/)
})

test('the route streams its events; the client shows them', async (t) => {
  const { route, client } = await load()
  const app = await route.buildApp()
  t.teardown(() => app.close())
  const { events } = await injectEvents(app, '/jobs/1/progress')
  t.same(events.map((e) => [e.type, JSON.parse(e.data)]), [
    ['progress', { step: 'Validating', percent: 33 }],
    ['progress', { step: 'Copying', percent: 66 }],
    ['done', { ok: true }]
  ])

  await app.listen({ port: 0, host: '127.0.0.1' })
  const lines = []
  const previous = globalThis.EventSource
  globalThis.EventSource = EventSource // what a browser provides
  t.teardown(() => { globalThis.EventSource = previous })
  await new Promise((resolve) => {
    client.watchJob(`http://127.0.0.1:${app.server.address().port}/jobs/1/progress`, (line) => {
      lines.push(line)
      if (line === 'done') resolve()
    })
  })
  t.same(lines, ['Validating: 33%', 'Copying: 66%', 'done'])
})

test('the relay drops messages that fail their schema', async (t) => {
  const { route, options } = await load()
  const app = await route.buildApp()
  t.teardown(() => app.close())
  options.relay(app, (async function * () {
    yield { event: 'progress', data: { step: 'a', percent: 10 } }
    yield { event: 'progress', data: { step: 'b', percent: 'ten' } }
    yield { event: 'done', data: { ok: true } }
  })())
  const { events } = await injectEvents(app, '/jobs/1/relay')
  t.same(events.map((e) => e.data), ['{"step":"a","percent":10}', '{"ok":true}'])
})

test('every code block of the section is one of these files, verbatim', async (t) => {
  const section = readmeSection('Typed routes')
  const found = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])
  const files = blocks.map((file) => readFileSync(file, 'utf8'))
  t.equal(found.length, files.length, 'one block per file')
  for (const block of found) t.ok(files.includes(block), block.split('\n')[0])
})

test('the TypeBox 1.x route: typed through its provider, a bad yield is an error at that yield, and it streams', async (t) => {
  const file = blocks[3]
  const source = readFileSync(file, 'utf8')
  const broken = source.replace("      // yield { event: 'finished', data: { status: 'ok' } }", "      yield { event: 'finished', data: { status: 'ok' } }")
  t.not(broken, source, 'the control edit applies')
  const host = ts.createCompilerHost(compilerOptions)
  const readFile = host.readFile
  host.readFile = (name) => name === file ? broken : readFile(name)
  const diagnostics = ts.getPreEmitDiagnostics(ts.createProgram(blocks, compilerOptions, host))
  const line = broken.split('\n').findIndex((l) => l.includes("status: 'ok'"))
  t.ok(diagnostics.length > 0, 'the bad item is an error')
  t.same([...new Set(diagnostics.map((d) => d.file.getLineAndCharacterOfPosition(d.start).line))], [line], 'reported on the yield line only')

  const { provider } = await load()
  const app = await provider.buildCi()
  t.teardown(() => app.close())
  const { events } = await injectEvents(app, '/builds/7/log')
  t.same(events.map((e) => [e.type, JSON.parse(e.data)]), [
    ['log', { line: 'build 7 started' }],
    ['finished', { status: 'passed' }]
  ])
})
