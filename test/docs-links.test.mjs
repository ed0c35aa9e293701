// Every link of the documentation leads somewhere: a relative link names a file of the
// repository, and its #anchor a heading of that file (or of the same file), as GitHub renders
// them. And the README reaches every guide in one click.
import { test } from 'tap'
import { existsSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { docFiles, docText } from './helpers/readme.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))

/** The text outside fenced code blocks and inline code spans. */
const prose = (text) => text.replace(/^```[a-z]*\n[\s\S]*?^```$/gm, '').replace(/`[^`\n]*`/g, '``')

/** The `[text](target)` and `![alt](target)` links of a markdown text. */
export function linksOf (text) {
  return [...prose(text).matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1])
}

/** The anchors GitHub gives a markdown file's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
export function anchorsOf (text) {
  const seen = new Map()
  const anchors = new Set()
  for (const [, heading] of text.replace(/^```[a-z]*\n[\s\S]*?^```$/gm, '').matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = heading.replace(/`/g, '').trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-')
    const n = seen.get(slug) ?? 0
    seen.set(slug, n + 1)
    anchors.add(n === 0 ? slug : `${slug}-${n}`)
  }
  return anchors
}

/** What is wrong with one link of `file`, or undefined. */
function brokenLink (file, target) {
  if (/^(https?|mailto):/.test(target)) return undefined // not checked: no network here
  const [path, anchor] = target.split('#')
  const resolved = path === '' ? file : normalize(join(dirname(file), decodeURI(path)))
  if (resolved.startsWith('..')) return `${target} leaves the repository`
  if (!existsSync(join(root, resolved))) return `${target}: no file ${resolved}`
  if (anchor === undefined) return undefined
  if (!resolved.endsWith('.md')) return `${target}: an anchor into a file that is not markdown`
  if (!anchorsOf(docText(resolved)).has(anchor)) return `${target}: ${resolved} has no heading #${anchor}`
  return undefined
}

test('every relative link and anchor of the documentation resolves', async (t) => {
  let checked = 0
  for (const file of docFiles()) {
    for (const target of linksOf(docText(file))) {
      checked++
      const problem = brokenLink(file, target)
      t.notOk(problem, `${file}: ${target}`, problem === undefined ? {} : { problem })
    }
  }
  t.ok(checked >= 40, `${checked} links checked`)
})

test('the README links every guide, CONTRIBUTING.md and the example app', async (t) => {
  const linked = new Set(linksOf(docText('README.md')).map((target) => target.split('#')[0]))
  for (const file of docFiles().filter((f) => f !== 'README.md')) t.ok(linked.has(file), `README.md links ${file}`)
})

test('the checks can fail', async (t) => {
  t.same(linksOf('[a](x.md) `[b](y.md)` ![c](img.png)\n```js\n[d](z.md)\n```\n'), ['x.md', 'img.png'])
  t.same([...anchorsOf('# A title\n## `reply.sse(source)`\n## Options\n### Options\n')], ['a-title', 'replyssesource', 'options', 'options-1'])
  t.match(brokenLink('README.md', 'docs/nothing.md'), /no file/)
  t.match(brokenLink('README.md', 'docs/api.md#nothing-here'), /no heading/)
  t.match(brokenLink('docs/api.md', '#nothing-here'), /no heading/)
  t.match(brokenLink('docs/api.md', '../../outside.md'), /leaves the repository/)
  t.equal(brokenLink('docs/testing.md', '../README.md#quick-start'), undefined)
})
