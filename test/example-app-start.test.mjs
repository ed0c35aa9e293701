// `npm start`: a build only when dist/ is older than what it is built from, and a busy port
// reported in one line that names the port and how to pick another.
import { test } from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildReason } from '../scripts/build-state.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))

test('the build is skipped exactly when dist/ is newer than every input', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'build-state-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const at = (file, seconds) => {
    mkdirSync(dirname(join(dir, file)), { recursive: true })
    writeFileSync(join(dir, file), '')
    utimesSync(join(dir, file), seconds, seconds)
  }
  const inputs = ['lib/index.ts', 'lib/stores/redis.ts', 'tsconfig.json', 'tsconfig.cjs.json', 'scripts/build.mjs', 'package.json']
  for (const file of inputs) at(file, 1000)
  for (const dirName of ['lib', 'lib/stores']) utimesSync(join(dir, dirName), 1000, 1000)
  t.equal(buildReason(dir), 'dist/ is missing or incomplete', 'never built')
  const outputs = ['dist/esm/index.js', 'dist/esm/package.json', 'dist/cjs/index.js', 'dist/cjs/package.json', 'dist/cjs/typed/peer-require.js']
  for (const file of outputs) at(file, 2000)
  t.equal(buildReason(dir), undefined, 'built after every input: no build')
  at('lib/stores/redis.ts', 3000)
  t.equal(buildReason(dir), 'changed since the last build: lib', 'a source edited since, however deep')
  for (const file of outputs) at(file, 4000)
  t.equal(buildReason(dir), undefined)
  at('tsconfig.cjs.json', 5000)
  at('package.json', 5000)
  t.equal(buildReason(dir), 'changed since the last build: tsconfig.cjs.json, package.json')
  for (const file of outputs) at(file, 6000)
  at('dist/cjs/index.js', 1500)
  t.match(buildReason(dir), /changed since the last build/, 'one output older than an input is enough')
  rmSync(join(dir, 'dist/esm/index.js'))
  t.equal(buildReason(dir), 'dist/ is missing or incomplete')
})

test('a busy port: one line naming the port and PORT=, and exit code 1', async (t) => {
  const blocker = net.createServer()
  blocker.listen(0, '127.0.0.1')
  await once(blocker, 'listening')
  t.teardown(() => blocker.close())
  const { port } = blocker.address()
  const child = spawn(process.execPath, [join(root, 'example-app/server.mjs')], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', REDIS_URL: '', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk) => { stderr += chunk })
  const [code] = await once(child, 'exit')
  t.equal(code, 1)
  t.equal(stdout, '', 'nothing else')
  const lines = stderr.trimEnd().split('\n')
  t.equal(lines.length, 1, `one line: ${stderr}`)
  t.match(lines[0], `Port ${port} on 127.0.0.1 is already in use`)
  t.match(lines[0], `PORT=${port + 1} npm start`)
  t.notMatch(stderr, /EADDRINUSE|\n {4}at /, 'no error code or stack trace')
})
