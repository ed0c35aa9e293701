// `npm start`: builds the package when dist/ is older than its sources (saying so, since it
// takes a few seconds), then starts the example app, which imports the built package.
import { execFileSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildReason } from './build-state.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const reason = buildReason(root)
if (reason === undefined) {
  console.log('The package in dist/ is up to date: no build needed.')
} else {
  console.log(`Building the package into dist/ (${reason}); this takes a few seconds…`)
  const started = performance.now()
  try {
    execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit', cwd: root })
  } catch {
    console.error('The build failed (see above): not starting the example app.')
    process.exit(1)
  }
  console.log(`Built in ${((performance.now() - started) / 1000).toFixed(1)} s.`)
}
console.log('Starting the example app…')
await import('../example-app/server.mjs')
