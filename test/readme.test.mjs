// The README shows real code: every code block in it (but the shell commands) is, verbatim, a
// file or part of a file under test/readme/ or example-app/, and those files are run by the suite.
import { test } from 'tap'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname

function files (dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : [path]
  })
}

test('every code block of README.md stands verbatim in a file the suite runs', async (t) => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const blocks = [...readme.matchAll(/^```([a-z]*)\n([\s\S]*?)^```$/gm)]
    .filter(([, lang]) => lang !== 'sh')
    .map(([, , body]) => body)
  t.ok(blocks.length >= 10, `${blocks.length} code blocks`)
  const sources = [...files(join(root, 'test/readme')), ...files(join(root, 'example-app'))]
    .filter((f) => /\.(mjs|js|ts|txt|html)$/.test(f))
    .map((f) => readFileSync(f, 'utf8'))
  for (const block of blocks) {
    t.ok(sources.some((source) => source.includes(block)), `found: ${block.split('\n')[0]}`)
  }
})
