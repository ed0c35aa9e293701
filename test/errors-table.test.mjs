import { test } from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { errors } from 'fastify-typed-sse'
import { docSection } from './helpers/readme.mjs'

// The error table of docs/errors.md is the contract users branch on: every code the plugin can
// raise is in it, and it names no code that does not exist.
function documentedCodes () {
  const table = docSection('docs/errors.md', 'Codes')
  const codes = new Set()
  for (const line of table.split('\n')) {
    if (!line.startsWith('| `')) continue
    const firstCell = line.split('|')[1]
    for (const [, code] of firstCell.matchAll(/`(FST_[A-Z_]+)`/g)) codes.add(code)
  }
  return codes
}

/** The source files of the package, whatever folders they sit in. */
function sources () {
  const root = fileURLToPath(new URL('../lib/', import.meta.url))
  return readdirSync(root, { recursive: true })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => ({ file, text: readFileSync(join(root, file), 'utf8') }))
}

// The browser client loads no server code, so its one error is a plain TypeError carrying a code.
const CLIENT_CODES = ['FST_SSE_NO_EVENTSOURCE']

test('every exported error code is in the table of docs/errors.md, and the table names only real codes', async (t) => {
  const exported = new Set(Object.values(errors).map((E) => new E('x', 1, 1).code))
  for (const code of CLIENT_CODES) exported.add(code)
  const documented = documentedCodes()
  t.ok(exported.size > 0, 'the package exports error classes')
  t.same([...exported].filter((c) => !documented.has(c)).sort(), [], 'no code is missing from the table')
  t.same([...documented].filter((c) => !exported.has(c)).sort(), [], 'the table names no unknown code')
  for (const [name, E] of Object.entries(errors)) {
    t.equal(new E('x', 1, 1).code, name, `${name} is exported under its own code`)
  }
})

test('every code the source names is exported (or is the client\'s) and documented', async (t) => {
  const exported = new Set(Object.keys(errors))
  const documented = documentedCodes()
  const named = new Set()
  for (const { text } of sources()) for (const [code] of text.matchAll(/FST_SSE_[A-Z_]+/g)) named.add(code)
  t.ok(named.size >= exported.size, 'the scan sees the codes')
  for (const code of named) {
    t.ok(exported.has(code) || CLIENT_CODES.includes(code), `${code} is exported`)
    t.ok(documented.has(code), `${code} is in the table`)
  }
})

test('nothing in the source raises an error without a code', async (t) => {
  let checked = 0
  for (const { file, text } of sources()) {
    for (const match of text.matchAll(/new (?:Error|TypeError|RangeError|SyntaxError)\(/g)) {
      checked++
      // The only plain error allowed is one that gets a code in the same expression.
      const statement = text.slice(Math.max(0, match.index - 'Object.assign('.length), text.indexOf('\n', match.index))
      t.ok(statement.startsWith('Object.assign(') && /\{ code: 'FST_SSE_[A-Z_]+' \}\)$/.test(statement), `${file}: ${statement.trim()}`)
    }
  }
  t.ok(checked <= CLIENT_CODES.length, 'plain errors are the exception')
})
