// Whether dist/ is older than what it is built from, so `npm start` can skip a build that would
// change nothing (a build takes seconds; most starts follow no edit of lib/).
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

// What the build reads: the sources, the compiler settings and the build script itself.
const INPUTS = ['lib', 'tsconfig.json', 'tsconfig.cjs.json', 'scripts/build.mjs', 'package.json']
// What it writes last in each flavour: tsc emits every file on each run, and the build then
// rewrites peer-require.js and the folders' package.json.
const OUTPUTS = ['dist/esm/index.js', 'dist/esm/package.json', 'dist/cjs/index.js', 'dist/cjs/package.json', 'dist/cjs/typed/peer-require.js']

const mtime = (path) => statSync(path, { throwIfNoEntry: false })?.mtimeMs

function newest (path) {
  const stat = statSync(path, { throwIfNoEntry: false })
  if (stat === undefined) return 0
  if (!stat.isDirectory()) return stat.mtimeMs
  return readdirSync(path).reduce((latest, name) => Math.max(latest, newest(join(path, name))), stat.mtimeMs)
}

/** Why `root`'s dist/ must be built again, or undefined when it is up to date. */
export function buildReason (root) {
  const built = OUTPUTS.map((file) => mtime(join(root, file)))
  if (built.includes(undefined)) return 'dist/ is missing or incomplete'
  const oldest = Math.min(...built)
  const changed = INPUTS.filter((input) => newest(join(root, input)) > oldest)
  return changed.length === 0 ? undefined : `changed since the last build: ${changed.join(', ')}`
}
