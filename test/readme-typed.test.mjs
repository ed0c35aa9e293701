// Runs the code blocks of docs/typed-routes.md (kept verbatim in test/readme/typed-*.ts): each is
// type-checked against the built package, then compiled and run.
import { test } from 'tap'
import { blockBodies, docText } from './helpers/readme.mjs'
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

// The blocks and every edited copy the tests need go into one program, checked by one
// checker: each copy sits beside the blocks under its own name, so its imports resolve as the
// block's do, and its errors are its own. Building a program (and checking Fastify's and
// TypeBox's declarations against it) per edit took most of a minute on a busy machine.
const variants = new Map() // virtual file name -> text

/** Registers `text` as an edited copy of `file` named `<name>.<label>.ts`, and returns that name. */
function variant (file, label, text) {
  const name = file.replace(/\.ts$/, `.${label}.ts`)
  variants.set(name, text)
  return name
}

let program
let blockErrors
/** Builds and checks the program once; returns the errors outside the copies. */
function checkedBlocks () {
  if (program === undefined) {
    const host = ts.createCompilerHost(compilerOptions)
    const readFile = host.readFile
    const fileExists = host.fileExists
    host.readFile = (name) => variants.get(name) ?? readFile(name)
    host.fileExists = (name) => variants.has(name) || fileExists(name)
    program = ts.createProgram([...blocks, ...variants.keys()], compilerOptions, host)
    // The copies do not change the program's global or module scope: an error outside them is
    // one of the blocks themselves (or the package's declarations).
    blockErrors = ts.getPreEmitDiagnostics(program).filter((d) => !variants.has(d.file?.fileName))
  }
  return blockErrors
}

/** Type errors of `file` (a block or a registered copy), as diagnostics. */
function diagnosticsOf (file) {
  checkedBlocks()
  if (!blocks.includes(file) && !variants.has(file)) throw new Error(`${file} is not in the program`)
  return ts.getPreEmitDiagnostics(program, program.getSourceFile(file))
}

const messages = (diagnostics) => diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))

const source = (file) => readFileSync(file, 'utf8')
const routeSource = source(blocks[0])
const brokenRoute = variant(blocks[0], 'wrong-payload', routeSource.replace('percent: 33 }', "percent: '33' }"))
const misusedClient = variant(blocks[1], 'misused', source(blocks[1]).replace('data.percent', 'data.percentage'))
const providerSource = source(blocks[3])
const brokenProviderText = providerSource.replace("      // yield { event: 'finished', data: { status: 'ok' } }", "      yield { event: 'finished', data: { status: 'ok' } }")
const brokenProvider = variant(blocks[3], 'bad-yield', brokenProviderText)

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
  t.same(messages(checkedBlocks()), [])
  t.not(variants.get(brokenRoute), routeSource, 'the control edit applies')
  t.match(messages(diagnosticsOf(brokenRoute)).join('\n'), /string.*not assignable to type 'number'/s)
  t.not(variants.get(misusedClient), source(blocks[1]), 'the control edit applies')
  t.match(messages(diagnosticsOf(misusedClient)).join('\n'), /percentage/)
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

test('each of these files is a code block of docs/typed-routes.md, verbatim', async (t) => {
  const found = blockBodies(docText('docs/typed-routes.md'), ['ts'])
  for (const file of blocks) t.ok(found.includes(readFileSync(file, 'utf8')), basename(file))
})

test('the TypeBox 1.x route: typed through its provider, a bad yield is an error at that yield, and it streams', async (t) => {
  t.not(brokenProviderText, providerSource, 'the control edit applies')
  const diagnostics = diagnosticsOf(brokenProvider)
  const line = brokenProviderText.split('\n').findIndex((l) => l.includes("status: 'ok'"))
  t.ok(diagnostics.length > 0, 'the bad item is an error')
  t.same([...new Set(diagnostics.map((d) => d.file.getLineAndCharacterOfPosition(d.start).line))], [line], 'reported on the yield line only')
  t.same(messages(checkedBlocks()), [], 'and nowhere else')

  const { provider } = await load()
  const app = await provider.buildCi()
  t.teardown(() => app.close())
  const { events } = await injectEvents(app, '/builds/7/log')
  t.same(events.map((e) => [e.type, JSON.parse(e.data)]), [
    ['log', { line: 'build 7 started' }],
    ['finished', { status: 'passed' }]
  ])
})
