import fastJson from 'fast-json-stringify'
import { FST_SSE_INVALID_SCHEMA, FST_SSE_SERIALIZE } from '../errors.js'

export type CompiledSerializer = (data: unknown) => string

/**
 * JSON text from code compiled for one event's schema, as Fastify does for responses. It
 * trusts its input: properties the schema does not declare are left out, and values of the
 * wrong type are coerced or rejected, not checked; validation is what guarantees the shape.
 * Both TypeBox lines build plain JSON Schema (their markers are symbols or non-enumerable),
 * so one compiler serves every kind of schema.
 */
export function compileSerializer (event: string, schema: object, where: string): CompiledSerializer {
  let stringify: (data: unknown) => string
  try {
    stringify = fastJson(schema as unknown as Parameters<typeof fastJson>[0]) as (data: unknown) => string
  } catch (err) {
    throw new FST_SSE_INVALID_SCHEMA(event, where, (err as Error).message, { cause: err })
  }
  return (data) => {
    try {
      return stringify(data)
    } catch (err) {
      // A required property missing, or a value that cannot be coerced to its declared type.
      throw new FST_SSE_SERIALIZE(`event "${event}": ${(err as Error).message}`, { cause: err })
    }
  }
}

/**
 * JSON text of a value no JSON Schema describes (a Standard Schema with transforms, dates or
 * custom checks): `JSON.stringify` of the validated value, so `toJSON()` methods apply. It
 * writes one line and escapes lone surrogates, as the compiled serializers do.
 */
export function stringifySerializer (event: string): CompiledSerializer {
  return (data) => {
    let text: string | undefined
    try {
      text = JSON.stringify(data)
    } catch (err) {
      throw new FST_SSE_SERIALIZE(`event "${event}": ${(err as Error).message}`, { cause: err })
    }
    if (typeof text !== 'string') throw new FST_SSE_SERIALIZE(`event "${event}": the value has no JSON form (${typeof data})`)
    return text
  }
}
