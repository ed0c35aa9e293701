import type { StandardIssue } from './standard-schema.js'

// What a failed Standard Schema check says, without the value. The issue's own `message` is
// not used: Valibot's and ArkType's quote the value ("but received \"…\"", "(was …)"), and a
// schema's custom messages may do the same. The expectation is read from the fields each
// library derives from the schema: Valibot's and ArkType's `expected`, Zod's `code` and its
// parameters. Strings from a schema are bounded all the same.

const MAX_EXPECTATION = 200

/** The first issue as `[JSON Pointer, expectation]`. */
export function describeIssue (issue: StandardIssue | undefined): [path: string, message: string] {
  if (issue === undefined) return ['/', 'does not match the schema']
  return [pointerOf(issue.path), bounded(expectationOf(issue as unknown as Record<string, unknown>))]
}

/** RFC 6901: `/a/0/b`, with `~` and `/` escaped in keys. */
function pointerOf (path: StandardIssue['path']): string {
  if (path === undefined || path.length === 0) return '/'
  let out = ''
  for (const segment of path) {
    const key = segment !== null && typeof segment === 'object' ? segment.key : segment
    out += '/' + (typeof key === 'symbol' ? key.toString() : String(key)).replace(/~/g, '~0').replace(/\//g, '~1')
  }
  return out
}

function expectationOf (issue: Record<string, unknown>, depth = 0): string {
  // ArkType's union and intersection errors: their own `expected` is the whole problem, value
  // included, so each branch's expectation is read instead.
  const branches = issue.errors
  if (Array.isArray(branches) && branches.length > 0 && depth < 4 && branches.every((b) => b !== null && typeof b === 'object' && !Array.isArray(b))) {
    const each = [...new Set(branches.slice(0, 8).map((b) => expectationOf(b, depth + 1).replace(/^expected /, '')))]
    return `expected ${each.join(issue.code === 'union' ? ' or ' : ' and ')}`
  }
  // Valibot and ArkType (a getter on ArkType's errors): a description of what the schema wants.
  const expected = readExpected(issue)
  if (typeof expected === 'string' && expected !== '') return `expected ${expected}`
  const code = issue.code
  if (typeof code === 'string') return zodExpectation(code, issue)
  const type = issue.type
  return typeof type === 'string' ? `fails the ${type} check` : 'does not match the schema'
}

function readExpected (issue: Record<string, unknown>): unknown {
  try {
    return issue.expected
  } catch {
    return undefined
  }
}

/** Zod 4 issues: what each code's parameters say about the schema (never `input`). */
function zodExpectation (code: string, issue: Record<string, unknown>): string {
  const origin = typeof issue.origin === 'string' ? `${issue.origin} ` : ''
  switch (code) {
    case 'too_big': return `expected ${origin}${issue.inclusive === true ? '<=' : '<'} ${String(issue.maximum)}`
    case 'too_small': return `expected ${origin}${issue.inclusive === true ? '>=' : '>'} ${String(issue.minimum)}`
    case 'invalid_format': return issue.format === 'regex' ? `expected a string matching ${String(issue.pattern)}` : `expected ${String(issue.format)}`
    case 'invalid_value': return `expected one of ${Array.isArray(issue.values) ? issue.values.map(literal).join(' | ') : '…'}`
    case 'not_multiple_of': return `expected a multiple of ${String(issue.divisor)}`
    case 'invalid_union': return 'expected one of the union\'s members'
    // The keys come from the value: named by count only.
    case 'unrecognized_keys': return `has ${Array.isArray(issue.keys) ? issue.keys.length : 'some'} undeclared key(s)`
    case 'custom': return 'fails a custom check'
    default: return `fails the ${code} check`
  }
}

function literal (value: unknown): string {
  return typeof value === 'bigint' ? `${value}n` : JSON.stringify(value) ?? String(value)
}

function bounded (text: string): string {
  return text.length > MAX_EXPECTATION ? `${text.slice(0, MAX_EXPECTATION)}…` : text
}
