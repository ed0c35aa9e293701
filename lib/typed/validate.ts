import { FST_SSE_INVALID_PAYLOAD, FST_SSE_INVALID_SCHEMA } from '../errors.js'
import { requirePeer } from './peer-require.js'
import { packageOf, schemaKind, type SchemaKind } from './schema-kind.js'

/** A payload check compiled from one event's schema. */
export interface PayloadCheck {
  /** The fast path: true when `data` matches. */
  test: (data: unknown) => boolean
  /** The slow path, only after `test` failed: a coded error naming the first failing field. */
  explain: (data: unknown) => Error
}

/** What a compiler gives for one schema: the check, and the first failure as `[path, message]`. */
interface Checker {
  check: (data: unknown) => boolean
  firstError: (data: unknown) => [path: string, message: string] | undefined
}

// Each TypeBox line compiles its own schemas: 0.34's TypeCompiler refuses 1.x schemas (they
// lack its Kind symbol) and 1.x's Compile does not know 0.34's symbols. The compiler is the
// one of the package that built the schema, loaded the first time such a schema is declared.
const compilers: Record<Exclude<SchemaKind, 'json-schema'>, (schema: object) => Checker> = {
  typebox (schema) {
    const { Compile } = requirePeer('typebox/compile') as typeof import('typebox/compile')
    const validator = Compile(schema)
    return {
      check: (data) => validator.Check(data),
      firstError: (data) => {
        const first = validator.Errors(data)[0]
        return first === undefined ? undefined : [first.instancePath, first.message]
      }
    }
  },
  'sinclair-typebox' (schema) {
    const { TypeCompiler } = requirePeer('@sinclair/typebox/compiler') as typeof import('@sinclair/typebox/compiler')
    const checker = TypeCompiler.Compile(schema as import('@sinclair/typebox').TSchema)
    return {
      check: (data) => checker.Check(data),
      firstError: (data) => {
        const first = checker.Errors(data).First()
        return first === undefined ? undefined : [first.path, first.message]
      }
    }
  }
}

export function compileCheck (event: string, schema: object, where: string): PayloadCheck {
  const kind = schemaKind(schema)
  if (kind === 'json-schema') {
    throw new FST_SSE_INVALID_SCHEMA(event, where,
      'not a TypeBox schema (validation needs schemas built with typebox 1.x or @sinclair/typebox 0.34; validate: false serializes without checking)')
  }
  let checker: Checker
  try {
    checker = compilers[kind](schema)
  } catch (err) {
    const code = (err as { code?: unknown }).code
    const reason = code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_REQUIRE_ESM'
      ? `its compiler could not be loaded from ${packageOf[kind]}: ${(err as Error).message}`
      : (err as Error).message
    throw new FST_SSE_INVALID_SCHEMA(event, where, reason, { cause: err })
  }
  return {
    test: checker.check,
    explain: (data) => {
      const first = checker.firstError(data)
      const path = first === undefined || first[0] === '' ? '/' : first[0]
      // The value itself stays out of the message: payloads may hold data that logs must not.
      const err = new FST_SSE_INVALID_PAYLOAD(event, path, first?.[1] ?? 'does not match the schema')
      return Object.assign(err, { event, path })
    }
  }
}
