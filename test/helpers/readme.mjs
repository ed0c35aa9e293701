// The documentation the suite holds to the code: the README, CONTRIBUTING.md, the example app's
// README and every guide under docs/. Paths are relative to the repository's root.
import { readFileSync, readdirSync } from 'node:fs'

const root = new URL('../../', import.meta.url)

/** Every documentation file, README.md first. */
export function docFiles () {
  const guides = readdirSync(new URL('docs/', root)).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)
  return ['README.md', 'CONTRIBUTING.md', 'example-app/README.md', ...guides]
}

/** The text of one documentation file. */
export function docText (file) {
  return readFileSync(new URL(file, root), 'utf8')
}

/**
 * The text of one `## ` section of a documentation file, from its heading to the next `## `
 * (its `### ` subsections included).
 */
export function docSection (file, heading) {
  const text = docText(file)
  const start = text.indexOf(`\n## ${heading}\n`)
  if (start === -1) throw new Error(`${file} has no section "${heading}"`)
  const next = text.indexOf('\n## ', start + 1)
  return text.slice(start, next === -1 ? undefined : next)
}

/** The text of one `## ` section of README.md. */
export function readmeSection (heading) {
  return docSection('README.md', heading)
}

/** The fenced code blocks of a text: `{ lang, body, line }`, `line` being the fence's (1-based). */
export function codeBlocks (text) {
  return [...text.matchAll(/^```([a-z]*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    lang: m[1],
    body: m[2],
    line: text.slice(0, m.index).split('\n').length
  }))
}

/** The bodies of the code blocks of a text, in order, optionally only those in `langs`. */
export function blockBodies (text, langs) {
  return codeBlocks(text).filter((b) => langs === undefined || langs.includes(b.lang)).map((b) => b.body)
}

const dedent = (lines) => {
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.match(/^ */)[0].length))
  return lines.map((l) => l.slice(indent))
}

/**
 * Whether `source` holds `block` verbatim, as whole lines, up to a common indentation: a
 * guide shows a whole file, the README's tour a piece of one, unindented.
 */
export function holdsBlock (source, block) {
  const want = dedent(block.replace(/\n$/, '').split('\n')).join('\n')
  const lines = source.split('\n')
  const count = want.split('\n').length
  const first = want.split('\n')[0]
  for (let i = 0; i + count <= lines.length; i++) {
    if (lines[i].trim() !== first.trim()) continue
    if (dedent(lines.slice(i, i + count)).join('\n') === want) return true
  }
  return false
}
