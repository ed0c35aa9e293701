// Runs the code blocks of docs/typed-routes.md's "Schema libraries" (kept verbatim in
// test/readme/typed-zod.ts, typed-valibot.ts, typed-arktype.ts and typed-mixed.ts): each is
// type-checked against the built package (and a wrong payload in each is not), then compiled
// and run, and each streams the same events.
import { test } from 'tap'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import ts from 'typescript'
import { injectEvents } from 'fastify-typed-sse/testing'
import { blockBodies, docSection } from './helpers/readme.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
// Under the package root, so the blocks' imports resolve as a user's would (the package's self-reference).
const out = join(root, 'test-artifacts/docs-typed-routes')
const names = ['zod', 'valibot', 'arktype', 'mixed']
const blocks = ['typed-zod.ts', 'typed-valibot.ts', 'typed-arktype.ts', 'typed-mixed.ts'].map((file) => readFileSync(join(root, 'test/readme', file), 'utf8'))

const compilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: ['node']
}

mkdirSync(out, { recursive: true })
const files = blocks.map((text, i) => {
  const file = join(out, `${names[i]}.mts`)
  writeFileSync(file, text)
  return file
})
// A copy of each with a wrong payload: `percent` of the progress event as a string.
const broken = blocks.map((text, i) => {
  const file = join(out, `${names[i]}.broken.mts`)
  writeFileSync(file, text.replace('percent: 33 }', "percent: '33' }").replace('percent: request.query.from }', "percent: 'x' }"))
  return file
})

const program = ts.createProgram([...files, ...broken], compilerOptions)
const errorsOf = (file) => ts.getPreEmitDiagnostics(program, program.getSourceFile(file))
  .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))

test('the section\'s code blocks are these files, in order', async (t) => {
  const section = blockBodies(docSection('docs/typed-routes.md', 'Schema libraries'), ['ts'])
  for (const block of blocks) t.ok(section.includes(block), block.split('\n')[2])
})

test('every block type-checks; the same block with a wrong payload does not', async (t) => {
  for (const [i, name] of names.entries()) {
    t.same(errorsOf(files[i]), [], name)
    t.not(readFileSync(broken[i], 'utf8'), blocks[i], `${name}: the control edit applies`)
    t.match(errorsOf(broken[i]).join('\n'), /not assignable/, `${name}: a wrong payload is a compile error`)
  }
})

async function load (name) {
  const { outputText } = ts.transpileModule(blocks[names.indexOf(name)], { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } })
  const file = join(out, `${name}.mjs`)
  writeFileSync(file, outputText)
  return import(pathToFileURL(file).href)
}

const expected = [['progress', { step: 'job 1', percent: 33 }], ['done', { ok: true }]]
const parsed = (events) => events.map((e) => [e.type, JSON.parse(e.data)])

for (const name of ['zod', 'valibot', 'arktype']) {
  test(`${name}: the route streams its events`, async (t) => {
    const app = await (await load(name)).buildApp()
    t.teardown(() => app.close())
    const { events } = await injectEvents(app, '/jobs/1/progress')
    t.same(parsed(events), expected)
  })
}

test('zod: the Zod params and querystring are validated by the provider', async (t) => {
  const app = await (await load('zod')).buildApp()
  t.teardown(() => app.close())
  t.equal((await app.inject('/jobs/1/progress?from=x')).statusCode, 400)
  const { events } = await injectEvents(app, '/jobs/1/progress?from=50')
  t.same(JSON.parse(events[0].data), { step: 'job 1', percent: 50 })
})

test('mixed: the published events replay through the filter', async (t) => {
  const app = await (await load('mixed')).buildApp()
  t.teardown(() => app.close())
  const { first } = (await app.inject({ method: 'POST', url: '/jobs' })).json()
  const before = first.replace(/:\d+$/, (m) => `:${Number(m.slice(1)) - 1}`)
  const { events } = await injectEvents(app, { url: '/jobs/progress', headers: { 'last-event-id': before } }, { count: 2 })
  t.same(parsed(events), expected)
})
