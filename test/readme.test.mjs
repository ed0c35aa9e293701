// The documentation shows real code: every code block of the README, CONTRIBUTING.md, the example
// app's README and the guides in docs/ is, verbatim, a file or part of a file under test/readme/
// or example-app/, and every file under test/readme/ is loaded by a test: so a block that no
// test runs fails here. Shell commands (`sh`) and diagrams or sample output (`text`) are not
// code; the samples that matter are compared with what the code prints by their own tests
// (the quick start's output, the reset notice).
import { test } from 'tap'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { codeBlocks, docFiles, docText, holdsBlock } from './helpers/readme.mjs'

const root = new URL('..', import.meta.url).pathname
const NOT_CODE = ['sh', 'text']

function files (dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : [path]
  })
}

const sources = [...files(join(root, 'test/readme')), ...files(join(root, 'example-app'))]
  .filter((f) => /\.(mjs|js|ts|txt|html|css)$/.test(f))
  .map((f) => readFileSync(f, 'utf8'))

test('every code block of the documentation stands verbatim in a file the suite runs', async (t) => {
  let count = 0
  for (const file of docFiles()) {
    for (const block of codeBlocks(docText(file))) {
      if (NOT_CODE.includes(block.lang)) continue
      count++
      t.ok(block.lang !== '', `${file}:${block.line} names its language`)
      t.ok(sources.some((source) => holdsBlock(source, block.body)), `${file}:${block.line} found: ${block.body.split('\n')[0]}`)
    }
  }
  t.ok(count >= 25, `${count} code blocks`)
})

test('every file under test/readme/ is loaded by a test', async (t) => {
  const tests = files(join(root, 'test'))
    .filter((f) => /\.test\.(mjs|cjs)$/.test(f) || f.includes('/helpers/'))
    .filter((f) => !f.endsWith('/readme.test.mjs'))
    .map((f) => readFileSync(f, 'utf8'))
  for (const file of files(join(root, 'test/readme'))) {
    const name = basename(file)
    t.ok(tests.some((text) => text.includes(name)), `${name} is named by a test`)
  }
})

test('the checks can fail', async (t) => {
  t.notOk(sources.some((source) => holdsBlock(source, 'const app = Fastify()\nawait app.register(nothing)\n')), 'an invented block is not found')
  t.ok(holdsBlock('a\n  b\n    c\n  d\n', 'b\n  c\n'), 'a piece of a file, with less indentation, is found')
  t.notOk(holdsBlock('a\n  b\n    c\n', 'b\nc\n'), 'relative indentation counts')
})
