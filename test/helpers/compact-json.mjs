/** JSON with 2-space indents, but objects and arrays that fit in `width` characters on one line. */
export function compactJson (value, indent = '', width = 80) {
  const flat = JSON.stringify(value)
  if (value === null || typeof value !== 'object' || indent.length + flat.length <= width) return flat
  const inner = indent + '  '
  const entries = Array.isArray(value)
    ? value.map((v) => inner + compactJson(v, inner, width))
    : Object.entries(value).map(([k, v]) => `${inner}${JSON.stringify(k)}: ${compactJson(v, inner, width)}`)
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}']
  return `${open}\n${entries.join(',\n')}\n${indent}${close}`
}
