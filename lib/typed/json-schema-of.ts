import { requirePeer } from './peer-require.js'
import type { StandardJsonSchemaConverter } from './standard-schema.js'

// The JSON Schema of a Standard Schema: of its output, what its validated values look like, so
// what fast-json-stringify compiles a serializer from and what the route's documentation shows;
// of its input, what a request part it validates accepts.
// Standard JSON Schema (`~standard.jsonSchema`) where the library implements it (Zod 4.2+,
// ArkType 2.1.2x+), else the library's own converter: Zod's `toJSONSchema`, ArkType's
// `toJsonSchema()`, `@valibot/to-json-schema` when installed. Every converter throws for what
// JSON Schema cannot express (transforms, dates, custom checks): then there is none.

/** A JSON Schema, or why there is none. */
export type JsonSchemaResult = { schema: Record<string, unknown> } | { reason: string }

type Converter = (schema: any, io: 'input' | 'output') => Record<string, unknown>

/** Which side of a schema with transforms: what it accepts (request parts) or what it returns (event data). */
export type SchemaSide = 'input' | 'output'

// Draft-07: what fast-json-stringify reads and what every target version of the documents accepts.
const TARGET = 'draft-07'

const converters = new Map<string, Converter>(Object.entries({
  zod: (schema, io) => (requirePeer('zod/v4/core') as { toJSONSchema: (schema: unknown, options: unknown) => Record<string, unknown> })
    .toJSONSchema(schema, { target: 'draft-7', io }),
  arktype: (schema, io) => (io === 'input' ? schema.in : schema.out).toJsonSchema({ target: TARGET }),
  valibot: (schema) => (requirePeer('@valibot/to-json-schema') as { toJsonSchema: (schema: unknown) => Record<string, unknown> }).toJsonSchema(schema)
} satisfies Record<string, Converter>))

export function jsonSchemaOf (schema: object, io: SchemaSide = 'output'): JsonSchemaResult {
  const props = (schema as { '~standard': { vendor?: unknown, jsonSchema?: StandardJsonSchemaConverter } })['~standard']
  const vendor = String(props.vendor)
  let convert: () => Record<string, unknown>
  const standard = props.jsonSchema
  if (standard !== undefined && standard !== null && typeof standard[io] === 'function') {
    convert = () => standard[io]({ target: TARGET })
  } else if (converters.has(vendor)) {
    const converter = converters.get(vendor) as Converter
    convert = () => converter(schema, io)
  } else {
    return { reason: `${vendor} implements neither Standard JSON Schema nor a known converter` }
  }
  try {
    const converted = convert()
    if (converted === null || typeof converted !== 'object') return { reason: `${vendor}'s converter returned no schema` }
    // The dialect marker says nothing a reader of one event's data needs, and a JSON Schema
    // compiler that does not know the dialect refuses it.
    const { $schema, ...rest } = converted
    return { schema: rest }
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
      return { reason: vendor === 'valibot' ? 'install @valibot/to-json-schema to compile its serializer' : `${vendor}'s converter is not installed` }
    }
    return { reason: (err as Error).message }
  }
}
