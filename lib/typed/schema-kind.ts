// Which library built a schema. Both TypeBox lines mark their schemas with a hidden key: 0.34
// (`@sinclair/typebox`) with the `TypeBox.Kind` symbol, 1.x (`typebox`) with a non-enumerable
// `~kind` property. Anything else is taken as plain JSON Schema.
export type SchemaKind = 'typebox' | 'sinclair-typebox' | 'json-schema'

const SINCLAIR_KIND = Symbol.for('TypeBox.Kind')

export function schemaKind (schema: object): SchemaKind {
  if (SINCLAIR_KIND in schema) return 'sinclair-typebox'
  if ('~kind' in schema) return 'typebox'
  return 'json-schema'
}

/** The package to install for a schema kind, as named in messages. */
export const packageOf: Record<SchemaKind, string> = {
  typebox: 'typebox (TypeBox 1.x)',
  'sinclair-typebox': '@sinclair/typebox (TypeBox 0.34)',
  'json-schema': 'JSON Schema'
}
