import { test } from 'tap'
import { readFileSync } from 'node:fs'
import { errors } from 'fastify-typed-sse'

// The README's error table is the contract users branch on: every code the plugin can raise is in
// it, and it names no code that does not exist.
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

function documentedCodes () {
  const section = readme.slice(readme.indexOf('### Errors'))
  const table = section.slice(0, section.indexOf('\n## '))
  const codes = new Set()
  for (const line of table.split('\n')) {
    if (!line.startsWith('| `')) continue
    const firstCell = line.split('|')[1]
    for (const [, code] of firstCell.matchAll(/`(FST_[A-Z_]+)`/g)) codes.add(code)
  }
  return codes
}

test('every exported error code is in the README table, and the table names only real codes', async (t) => {
  const exported = new Set(Object.values(errors).map((E) => new E('x', 1, 1).code))
  const documented = documentedCodes()
  t.ok(exported.size > 0, 'the package exports error classes')
  t.same([...exported].filter((c) => !documented.has(c)).sort(), [], 'no code is missing from the table')
  t.same([...documented].filter((c) => !exported.has(c)).sort(), [], 'the table names no unknown code')
  for (const [name, E] of Object.entries(errors)) {
    t.equal(new E('x', 1, 1).code, name, `${name} is exported under its own code`)
  }
})
