// A value of a JSON Schema's shape: the example of a route's documentation, and the probe that
// finds a Standard Schema validating asynchronously before any event is sent.

/** A value of the schema's shape, for examples: `examples`/`default`/`const`/`enum` when given, else a placeholder of its type. */
export function sample (schema: unknown, depth = 0): unknown {
  if (schema === null || typeof schema !== 'object' || depth > 8) return null
  const s = schema as Record<string, any>
  if (Array.isArray(s.examples) && s.examples.length > 0) return s.examples[0]
  if ('default' in s) return s.default
  if ('const' in s) return s.const
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0]
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    if (Array.isArray(s[key]) && s[key].length > 0) return sample(s[key][0], depth + 1)
  }
  const type = Array.isArray(s.type) ? s.type[0] : s.type
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {}
      for (const [key, value] of Object.entries((s.properties ?? {}) as Record<string, unknown>)) out[key] = sample(value, depth + 1)
      return out
    }
    case 'array': return s.items === undefined ? [] : [sample(s.items, depth + 1)]
    case 'string': return 'string'
    case 'integer': return typeof s.minimum === 'number' ? Math.ceil(s.minimum) : 0
    case 'number': return typeof s.minimum === 'number' ? s.minimum : 0
    case 'boolean': return true
    default: return null
  }
}
