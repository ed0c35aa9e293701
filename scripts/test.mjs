// `npm test`: lint, build, type-check, tap's plugins as .taprc lists them
// (scripts/tap-plugins.mjs), the tap suite, the type tests, the package check and the published
// types under each module setting (scripts/type-matrix.mjs), in that order, stopping at the first
// failure. Ends with one plain "N passed, N failed" line for the tap suite, so the result is
// readable without knowing tap's report format.
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = (pkg, file) => join(root, 'node_modules', pkg, file)

const steps = [
  ['lint', [bin('eslint', 'bin/eslint.js'), '.']],
  ['build', [join(root, 'scripts/build.mjs'), '--clean']],
  ['type-check', [bin('typescript', 'bin/tsc'), '-p', 'tsconfig.json', '--noEmit']],
  ['tap plugins', [join(root, 'scripts/tap-plugins.mjs')]],
  ['tap', [bin('tap', 'dist/esm/run.mjs'), ...process.argv.slice(2)], true],
  ['type tests', [bin('tsd', 'dist/cli.js'), '--typings', 'dist/esm/index.d.ts', '--files', 'types/**/*.test-d.ts']],
  ['package exports', [bin('@arethetypeswrong/cli', 'dist/index.js'), '--pack', '.', '--profile', 'node16']],
  ['published types per setting', [join(root, 'scripts/type-matrix.mjs')]]
]

let summary
for (const [name, args, capture] of steps) {
  process.stdout.write(`\n> ${name}\n`)
  const { code, tail } = await run(args, capture)
  if (capture) summary = tail.match(/# \{ total: (\d+), pass: (\d+)(?:, fail: (\d+))?(?:, skip: (\d+))?/)
  if (code !== 0) {
    if (summary) printSummary()
    console.error(`\n${name} failed (exit ${code})`)
    process.exit(code || 1)
  }
}
printSummary()

function printSummary () {
  if (!summary) return
  const [, total, pass, fail = '0', skip = '0'] = summary
  console.log(`\ntap: ${pass} passed, ${fail} failed, ${skip} skipped (of ${total})`)
}

function run (args, capture) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: capture ? ['inherit', 'pipe', 'inherit'] : 'inherit' })
    let tail = ''
    child.stdout?.on('data', (chunk) => {
      process.stdout.write(chunk)
      tail = (tail + chunk).slice(-4096)
    })
    child.on('close', (code) => resolve({ code, tail }))
  })
}
