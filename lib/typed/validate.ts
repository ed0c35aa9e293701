import { FST_SSE_INVALID_PAYLOAD, FST_SSE_INVALID_SCHEMA } from '../errors.js'
import { requirePeer } from './peer-require.js'
import { packageOf, schemaKind } from './schema-kind.js'
import { describeIssue } from './standard-issues.js'
import type { StandardResult, StandardSchemaProps } from './standard-schema.js'
import { sample } from './sample.js'

/**
 * A payload check compiled from one event's schema: returns the value to serialize (the data
 * itself, or a Standard Schema's output) and throws a coded error naming the first failing
 * field for invalid data.
 */
export type PayloadCheck = (data: unknown) => unknown

/** What a compiler gives for one schema: the check, and the first failure as `[path, message]`. */
interface Checker {
  check: (data: unknown) => boolean
  firstError: (data: unknown) => [path: string, message: string] | undefined
}

// Each TypeBox line compiles its own schemas: 0.34's TypeCompiler refuses 1.x schemas (they
// lack its Kind symbol) and 1.x's Compile does not know 0.34's symbols. The compiler is the
// one of the package that built the schema, loaded the first time such a schema is declared.
const compilers: Record<'typebox' | 'sinclair-typebox', (schema: object) => Checker> = {
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

/**
 * `jsonSchema`: the schema's JSON Schema when it has one (for a Standard Schema, the probe
 * value that finds asynchronous checks at start-up is built from it).
 */
export function compileCheck (event: string, schema: object, where: string, jsonSchema?: object): PayloadCheck {
  const kind = schemaKind(schema)
  if (kind === 'json-schema') {
    throw new FST_SSE_INVALID_SCHEMA(event, where,
      'not a TypeBox or Standard Schema (validation needs schemas built with typebox 1.x, @sinclair/typebox 0.34, Zod 4, Valibot 1 or ArkType 2; validate: false serializes without checking)')
  }
  if (kind === 'standard-schema') return standardCheck(event, schema, where, jsonSchema)
  const checker = loadChecker(kind, event, schema, where)
  const test = checker.check
  return (data) => {
    if (test(data)) return data
    const first = checker.firstError(data)
    // The value itself stays out of the message: payloads may hold data that logs must not.
    throw invalidPayload(event, first === undefined || first[0] === '' ? '/' : first[0], first?.[1] ?? 'does not match the schema')
  }
}

function loadChecker (kind: 'typebox' | 'sinclair-typebox', event: string, schema: object, where: string): Checker {
  try {
    return compilers[kind](schema)
  } catch (err) {
    const code = (err as { code?: unknown }).code
    const reason = code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_REQUIRE_ESM'
      ? `its compiler could not be loaded from ${packageOf[kind]}: ${(err as Error).message}`
      : (err as Error).message
    throw new FST_SSE_INVALID_SCHEMA(event, where, reason, { cause: err })
  }
}

/**
 * A Standard Schema's own `validate`, called synchronously. Items are validated in order, on
 * the path that writes them, so a check that answers with a promise is refused: at start-up
 * when it shows (Valibot marks async schemas; a probe value of the schema's shape reaches
 * Zod's async refinements), else on the first item that reaches it.
 */
function standardCheck (event: string, schema: object, where: string, jsonSchema: object | undefined): PayloadCheck {
  const props = (schema as { '~standard': StandardSchemaProps })['~standard']
  const validate = props.validate
  const asyncSchema = (): Error => new FST_SSE_INVALID_SCHEMA(event, where,
    `the ${String(props.vendor)} schema validates asynchronously; event data is validated synchronously, so use checks that return a result rather than a promise`)
  if ((schema as { async?: unknown }).async === true) throw asyncSchema()
  for (const probe of jsonSchema === undefined ? [undefined] : [sample(jsonSchema), undefined]) {
    let result: unknown
    try {
      result = validate(probe)
    } catch {
      continue // the probe is only a probe; a check that throws shows on the item that reaches it
    }
    if (isThenable(result)) {
      result.then(undefined, () => {})
      throw asyncSchema()
    }
  }
  return (data) => {
    const result = validate(data) as StandardResult<unknown> | PromiseLike<unknown>
    if (isThenable(result)) {
      result.then(undefined, () => {}) // its outcome is not awaited; a rejection must not go unhandled
      throw asyncSchema()
    }
    if (result.issues == null) return result.value
    const [path, message] = describeIssue(result.issues[0])
    throw invalidPayload(event, path, message)
  }
}

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function'
}

function invalidPayload (event: string, path: string, message: string): Error {
  return Object.assign(new FST_SSE_INVALID_PAYLOAD(event, path, message), { event, path })
}
