// Compiles the consumers in types/consumer/ against the built package under every supported
// setting: module resolution (node16, nodenext, bundler) × skipLibCheck (on, off) × TypeScript
// (5.9, 7). Each program holds ESM files and CommonJS (.cts) files, one of each per TypeBox line
// and one of each with Standard Schema libraries (Zod, Valibot, ArkType; ArkType in ESM only),
// so it is also the mixed program (where a declaration that differs between the package's two
// builds breaks), and a cell's result per module kind and TypeBox line is read from the file an
// error is in; an error in a declaration file counts against every cell of its program.
// One cell is left out: CommonJS with TypeBox 1.x under `module: node16`. TypeBox 1.x is
// ESM-only and node16 lets no CommonJS file import an ES module (TS1479, raised inside
// @fastify/type-provider-typebox's own declarations); nodenext (TypeScript 5.8+) allows it.
// Prints the table; exits 1 if any cell has an error.
import { execFile } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'test-artifacts/type-matrix')
const compilers = {
  5.9: join(root, 'node_modules/typescript/bin/tsc'),
  7: join(root, 'node_modules/typescript7/bin/tsc')
}
const resolutions = {
  node16: { module: 'node16', moduleResolution: 'node16' },
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
  bundler: { module: 'preserve', moduleResolution: 'bundler' }
}
const files = ['esm-typebox.ts', 'esm-sinclair.ts', 'esm-standard.ts', 'cjs-typebox.cts', 'cjs-sinclair.cts', 'cjs-standard.cts']
const columns = files.map((file) => ({
  file,
  kind: file.endsWith('.cts') ? 'CJS' : 'ESM',
  schemas: file.includes('standard') ? 'Standard Schema' : file.includes('sinclair') ? 'TypeBox 0.34' : 'TypeBox 1.x'
}))

const cells = []
for (const [resolution, settings] of Object.entries(resolutions)) {
  for (const skipLibCheck of [false, true]) {
    for (const ts of Object.keys(compilers)) cells.push({ resolution, settings, skipLibCheck, ts })
  }
}

async function compile (cell) {
  const used = files.filter((file) => !(cell.resolution === 'node16' && file === 'cjs-typebox.cts'))
  const dir = join(out, `${cell.resolution}-${cell.skipLibCheck ? 'skip' : 'check'}-ts${cell.ts}`)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      ...cell.settings,
      target: 'es2022',
      strict: true,
      noEmit: true,
      skipLibCheck: cell.skipLibCheck,
      types: ['node']
    },
    files: used.map((file) => relative(dir, join(root, 'types/consumer', file)))
  }, null, 2))
  const output = await new Promise((resolve) => {
    execFile(process.execPath, [compilers[cell.ts], '-p', dir, '--pretty', 'false'], { cwd: root, maxBuffer: 1 << 24 },
      (err, stdout, stderr) => resolve({ failed: err !== null, text: stdout + stderr }))
  })
  const errors = output.text.split('\n').filter((line) => /error TS\d+/.test(line))
  // An error in no consumer file (a declaration file) counts against every column.
  const shared = errors.filter((line) => !files.some((file) => line.includes(file)))
  if (output.failed && errors.length === 0) shared.push(output.text.trim() || 'compiler failed')
  const result = columns.map(({ file }) => used.includes(file) ? [...errors.filter((line) => line.includes(file)), ...shared] : null)
  return { ...cell, result }
}

const queue = [...cells]
const results = []
await Promise.all(Array.from({ length: Math.max(2, availableParallelism()) }, async () => {
  for (let cell = queue.shift(); cell !== undefined; cell = queue.shift()) results.push(await compile(cell))
}))

const key = (c) => `${c.resolution} ${c.skipLibCheck} ${c.ts}`
results.sort((a, b) => cells.findIndex((c) => key(c) === key(a)) - cells.findIndex((c) => key(c) === key(b)))
let failures = 0
console.log(`resolution | skipLibCheck | TypeScript | ${columns.map((c) => `${c.kind}, ${c.schemas}`).join(' | ')} | mixed program`)
console.log(Array(4 + columns.length).fill('---').join('|'))
for (const r of results) {
  const count = r.result.reduce((n, errors) => n + (errors?.length ?? 0), 0)
  failures += count
  const verdicts = r.result.map((errors) => errors === null ? 'n/a (ESM-only)' : errors.length === 0 ? 'ok' : `FAIL (${errors.length})`)
  console.log(`${r.resolution} | ${r.skipLibCheck ? 'on' : 'off'} | ${r.ts} | ${verdicts.join(' | ')} | ${count === 0 ? 'ok' : 'FAIL'}`)
}
for (const r of results) {
  for (const line of new Set(r.result.flatMap((errors) => errors ?? []))) console.error(`${key(r)}: ${line}`)
}
process.exit(failures === 0 ? 0 : 1)
