import { readFileSync } from 'node:fs'

/** The text of one `## ` section of README.md, from its heading to the next one. */
export function readmeSection (heading) {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const start = readme.indexOf(`\n## ${heading}\n`)
  if (start === -1) throw new Error(`README.md has no section "${heading}"`)
  const next = readme.indexOf('\n## ', start + 1)
  return readme.slice(start, next === -1 ? undefined : next)
}
