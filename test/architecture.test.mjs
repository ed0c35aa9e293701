// The layering of lib/ as docs/architecture.md describes it: no import cycles, no import from
// a lower layer to a higher one, and every module listed in that document.
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const lib = join(root, 'lib')

// The modules the package exports and the plugin that wires the layers: they may import anything.
const ENTRY = new Set(['index.ts', 'plugin.ts', 'sse-api.ts', 'fastify-augment.ts', 'typed-route.ts', 'testing.ts', 'client.ts', 'client-share.ts'])
// What each layer may import, itself included.
const ALLOWED = {
  core: ['core'],
  typed: ['core', 'typed'],
  stores: ['core', 'stores'],
  replay: ['core', 'typed', 'stores', 'replay'],
  entry: ['core', 'typed', 'stores', 'replay', 'entry']
}

/** Every .ts module under `dir`, as a path relative to lib/ with forward slashes. */
function modules (dir) {
  return readdirSync(dir, { recursive: true })
    .map((name) => String(name).split('\\').join('/'))
    .filter((name) => name.endsWith('.ts'))
    .sort()
}

/** The relative modules `source` (a module at `from`) imports or re-exports, types included. */
function importsOf (from, source) {
  const found = []
  // Static imports and re-exports, one or many lines, type-only or not; and bare side-effect imports.
  const pattern = /^\s*(?:import|export)\s(?:[^'";]*?\sfrom\s*)?'(\.{1,2}\/[^']+)'/gm
  for (const match of source.matchAll(pattern)) {
    const target = posix.normalize(posix.join(posix.dirname(from), match[1])).replace(/\.js$/, '.ts')
    found.push(target)
  }
  return found
}

function graphOf (files, read) {
  const graph = new Map()
  for (const file of files) graph.set(file, importsOf(file, read(file)))
  return graph
}

/** Every elementary cycle's first sighting, as a list of modules; empty when there is none. */
function cyclesOf (graph) {
  const cycles = []
  const state = new Map() // undefined: unseen, 1: on the current path, 2: done
  const path = []
  const visit = (node) => {
    state.set(node, 1)
    path.push(node)
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 1) cycles.push([...path.slice(path.indexOf(next)), next])
      else if (state.get(next) === undefined && graph.has(next)) visit(next)
    }
    path.pop()
    state.set(node, 2)
  }
  for (const node of graph.keys()) if (state.get(node) === undefined) visit(node)
  return cycles
}

function layerOf (module) {
  if (!module.includes('/')) return ENTRY.has(module) ? 'entry' : 'core'
  return module.slice(0, module.indexOf('/'))
}

function layerViolations (graph) {
  const found = []
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const allowed = ALLOWED[layerOf(from)]
      if (allowed === undefined || !allowed.includes(layerOf(to))) found.push(`${from} (${layerOf(from)}) imports ${to} (${layerOf(to)})`)
    }
  }
  return found
}

const files = modules(lib)
const graph = graphOf(files, (file) => readFileSync(join(lib, file), 'utf8'))

t.test('the checks see what they must (a made-up lib/)', async (t) => {
  const sources = {
    'a.ts': "import { b } from './b.js'\n",
    'b.ts': "import type {\n  C\n} from './typed/c.js'\nexport { a } from './a.js'\n",
    'typed/c.ts': "import '../replay/d.js'\n",
    'replay/d.ts': "export type { X } from '../stores/e.js'\n",
    'stores/e.ts': 'export const e = 1\n'
  }
  const fake = graphOf(Object.keys(sources), (file) => sources[file])
  t.same(fake.get('b.ts'), ['typed/c.ts', 'a.ts'], 'multi-line type imports and re-exports are edges')
  t.same(cyclesOf(fake), [['a.ts', 'b.ts', 'a.ts']], 'a two-module cycle is found')
  t.same(layerViolations(fake), [
    'b.ts (core) imports typed/c.ts (typed)',
    'typed/c.ts (typed) imports replay/d.ts (replay)'
  ], 'imports from a lower layer to a higher one are found, and only those')
})

t.test('lib/ has no import cycle', async (t) => {
  t.ok(files.length > 30, `${files.length} modules read`)
  t.same(cyclesOf(graph).map((cycle) => cycle.join(' -> ')), [])
})

t.test('no layer of lib/ imports a higher one', async (t) => {
  for (const [from, targets] of graph) {
    for (const to of targets) t.ok(graph.has(to), `${from} imports ${to}, a module of lib/`)
  }
  t.same(layerViolations(graph), [])
})

t.test('docs/architecture.md lists every module of lib/, and only those', async (t) => {
  const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8')
  const listed = new Set([...doc.matchAll(/^\| `([^`]+\.ts)` \|/gm)].map((match) => match[1]))
  t.same([...listed].sort(), files, 'the module tables name exactly the modules under lib/')
  for (const file of files) {
    const row = doc.indexOf('| `' + file + '` |')
    if (row === -1) continue // reported above
    const section = doc.lastIndexOf('\n### ', row)
    const heading = doc.slice(section + 5, doc.indexOf('\n', section + 1))
    t.ok(heading.startsWith(layerOf(file) + ' '), `${file} is listed under its layer (${layerOf(file)}), not "${heading}"`)
  }
})

t.test('the browser client loads only browser code: its value imports stay within client.ts and client-share.ts', async (t) => {
  const BROWSER = ['client.ts', 'client-share.ts']
  for (const file of BROWSER) {
    const source = readFileSync(join(lib, file), 'utf8')
    // Type-only imports and re-exports vanish from the built file; anything else is loaded.
    const loaded = [...source.matchAll(/^\s*(?:import|export)\s(?!type\s)(?:[^'";]*?\sfrom\s*)?'([^']+)'/gm)]
      .map((match) => match[1].startsWith('.') ? posix.normalize(posix.join(posix.dirname(file), match[1])).replace(/\.js$/, '.ts') : match[1])
    t.same(loaded.filter((module) => !BROWSER.includes(module)), [], `${file} loads nothing else`)
  }
  t.same(importsOf('client-share.ts', readFileSync(join(lib, 'client-share.ts'), 'utf8')), [], 'client-share.ts imports nothing at all')
})
