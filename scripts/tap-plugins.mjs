// Brings tap's built test class in line with the plugins .taprc asks for, before the suite runs.
// Tap notices a mismatch only once its runner has loaded, and rebuilds for the next run: the run
// that noticed (the first one after `npm ci`) still starts every test file with the loaders of
// the default plugins, TypeScript's among them, which costs each of the suite's processes a
// second or more of start-up on a busy two-core machine.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const tap = join(root, 'node_modules/tap/dist/esm/run.mjs')
const built = join(root, 'node_modules/@tapjs/test/test-built/dist/esm/index.js')

/** The plugin list of `text` (one a line), sorted, for comparing. */
const normal = (text) => text.split('\n').map((line) => line.trim()).filter(Boolean).sort().join('\n')

/** Rebuilds tap's test class with `node` if it was built for other plugins than .taprc's. Returns the exit code. */
export function syncTapPlugins (node = process.execPath, env = process.env) {
  const wanted = spawnSync(node, [tap, 'plugin', 'list'], { cwd: root, env, encoding: 'utf8' })
  if (wanted.status !== 0) {
    process.stderr.write(wanted.stderr)
    return wanted.status ?? 1
  }
  const signature = /export const signature = `([^`]*)`/.exec(readFileSync(built, 'utf8'))
  if (signature !== null && normal(signature[1]) === normal(wanted.stdout)) return 0
  console.log('tap was built for other plugins than .taprc lists: rebuilding it')
  return spawnSync(node, [tap, 'build'], { cwd: root, env, stdio: 'inherit' }).status ?? 1
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exit(syncTapPlugins())
