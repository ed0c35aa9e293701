// The README's quick start as a reader runs it: the package packed with `npm pack` and installed
// with `npm install` into an empty project, the README's snippet saved there as server.mjs and
// started with node, and its events read over HTTP as the README's `curl -N` line does. Offline:
// fastify and the package's dependencies come from this repository's node_modules (npm links
// them), never from the registry.
import { test } from 'tap'
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { blockBodies, readmeSection } from './helpers/readme.mjs'
import { failOnEscapes } from './helpers/escapes.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const run = promisify(execFile)
const npm = (args, cwd) => run('npm', [...args, '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd, timeout: 120_000 })

const section = readmeSection('Quick start')
const [snippet] = blockBodies(section, ['js'])
const [expected] = blockBodies(section, ['text'])
const commands = blockBodies(section, ['sh']).join('')

test('the quick start blocks are the files the suite keeps', async (t) => {
  t.equal(snippet, readFileSync(new URL('readme/quick-start.mjs', import.meta.url), 'utf8'), 'the snippet')
  t.equal(expected, readFileSync(new URL('readme/quick-start-output.txt', import.meta.url), 'utf8'), 'its output')
  t.match(commands, /^npm install fastify fastify-typed-sse$/m, 'it installs both packages')
  t.match(commands, /^curl -N http:\/\/localhost:3000\/jobs\/1\/progress$/m, 'it reads the stream with curl -N')
  t.match(snippet, /await app\.listen\(/, 'it listens')
})

test('pasted into an empty project with the packed package, it serves the events the README shows', async (t) => {
  failOnEscapes(t)
  const dir = mkdtempSync(join(tmpdir(), 'quick-start-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))

  // --ignore-scripts: the suite runs against the dist/ it built first; `prepare` would build it
  // again under the feet of the other test files running meanwhile.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, timeout: 120_000 })
  const [{ filename, files }] = JSON.parse(stdout)
  t.ok(files.some((f) => f.path === 'dist/esm/index.js'), 'the tarball holds the built package')

  await npm(['init', '-y'], dir)
  const { dependencies } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const local = ['fastify', ...Object.keys(dependencies)].map((name) => `file:${join(root, 'node_modules', name)}`)
  await npm(['install', join(dir, filename), ...local], dir)
  writeFileSync(join(dir, 'server.mjs'), snippet)

  const server = spawn(process.execPath, ['server.mjs'], { cwd: dir, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = once(server, 'exit')
  t.teardown(async () => {
    server.kill()
    await exited
  })
  let output = ''
  server.stdout.setEncoding('utf8').on('data', (chunk) => { output += chunk })
  server.stderr.setEncoding('utf8').on('data', (chunk) => { output += chunk })
  const address = await new Promise((resolve, reject) => {
    server.stdout.on('data', () => {
      const match = output.match(/^listening on (http:\/\/\S+)$/m)
      if (match) resolve(match[1])
    })
    exited.then(([code]) => reject(new Error(`server.mjs exited (${code}): ${output}`)))
  })

  // What `curl -N http://localhost:3000/jobs/1/progress` prints: the body, as it arrives.
  const response = await new Promise((resolve, reject) => http.get(`${address}/jobs/1/progress`, resolve).on('error', reject))
  t.equal(response.statusCode, 200)
  t.equal(response.headers['content-type'], 'text/event-stream; charset=utf-8')
  let body = ''
  for await (const chunk of response.setEncoding('utf8')) body += chunk
  t.equal(body, expected, 'the events the README shows, then the end of the stream')
  const progress = [...body.matchAll(/^event: progress\nid: \d+\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]))
  t.equal(progress.at(-1).percent, 100, 'the last progress event is at 100 %')
})
