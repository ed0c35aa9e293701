// Which library built a schema. Both TypeBox lines mark their schemas with a hidden key: 0.34
// (`@sinclair/typebox`) with the `TypeBox.Kind` symbol, 1.x (`typebox`) with a non-enumerable
// `~kind` property. Zod 4, Valibot 1 and ArkType 2 implement Standard Schema: a `~standard`
// property (on a function, for ArkType). Anything else is taken as plain JSON Schema.
export type SchemaKind = 'typebox' | 'sinclair-typebox' | 'standard-schema' | 'json-schema'

const SINCLAIR_KIND = Symbol.for('TypeBox.Kind')

export function schemaKind (schema: object): SchemaKind {
  if (SINCLAIR_KIND in schema) return 'sinclair-typebox'
  if ('~kind' in schema) return 'typebox'
  if (isStandardSchema(schema)) return 'standard-schema'
  return 'json-schema'
}

/** A Standard Schema 1 value: its `~standard` property carries version 1 and a `validate` function. */
export function isStandardSchema (schema: unknown): boolean {
  if (schema === null || (typeof schema !== 'object' && typeof schema !== 'function')) return false
  const props = (schema as { '~standard'?: { version?: unknown, validate?: unknown } })['~standard']
  return props !== null && typeof props === 'object' && props.version === 1 && typeof props.validate === 'function'
}

/** The package to install for a schema kind, as named in messages. */
export const packageOf: Record<SchemaKind, string> = {
  typebox: 'typebox (TypeBox 1.x)',
  'sinclair-typebox': '@sinclair/typebox (TypeBox 0.34)',
  'standard-schema': 'a Standard Schema library (Zod 4, Valibot 1, ArkType 2)',
  'json-schema': 'JSON Schema'
}
