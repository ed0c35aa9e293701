// Builds both module flavours from lib/: ESM into dist/esm, CommonJS into dist/cjs.
// Each flavour gets its own declarations so `import` and `require` users both get types
// that describe what they actually load. `--clean` starts from an empty dist/.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const tsc = join(root, 'node_modules/typescript/bin/tsc')

if (process.argv.includes('--clean')) rmSync(join(root, 'dist'), { recursive: true, force: true })
let failed = false
for (const project of ['tsconfig.json', 'tsconfig.cjs.json']) {
  try {
    execFileSync(process.execPath, [tsc, '-p', join(root, project)], { stdio: 'inherit', cwd: root })
  } catch {
    failed = true // keep going: both flavours are emitted even when one reports type errors
  }
}
// CommonJS has no import.meta (see lib/typed/peer-require.ts): peers resolve from __filename there.
const peerRequire = join(root, 'dist/cjs/typed/peer-require.js')
const esmOnly = 'createRequire)(import.meta.url)'
const peerSource = readFileSync(peerRequire, 'utf8')
if (!peerSource.includes(esmOnly)) throw new Error(`${peerRequire}: expected ${esmOnly}`)
writeFileSync(peerRequire, peerSource.replace(esmOnly, 'createRequire)(__filename)'))
// One declaration of what the package adds to Fastify's types, shared by both builds: a program
// with ESM files and .cts files loads both, and two declarations of `reply.sse` with distinct
// types do not merge (see lib/fastify-augment.ts). The ESM copy only loads the CommonJS one.
writeFileSync(join(root, 'dist/esm/fastify-augment.d.ts'),
  "// Declared once for both builds: see lib/fastify-augment.ts.\nimport '../cjs/fastify-augment.js';\nexport {};\n")
rmSync(join(root, 'dist/esm/fastify-augment.d.ts.map'), { force: true })
for (const [dir, type] of [['dist/cjs', 'commonjs'], ['dist/esm', 'module']]) {
  mkdirSync(join(root, dir), { recursive: true })
  writeFileSync(join(root, dir, 'package.json'), `{ "type": "${type}" }\n`)
}
if (failed) process.exit(1)
