import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { FST_SSE_INVALID_PAYLOAD, FST_SSE_INVALID_SCHEMA } from './errors.js'

/** A payload check compiled from one event's schema. */
export interface PayloadCheck {
  /** The fast path: true when `data` matches. */
  test: (data: unknown) => boolean
  /** The slow path, only after `test` failed: a coded error naming the first failing field. */
  explain: (data: unknown) => Error
}

export function compileCheck (event: string, schema: TSchema): PayloadCheck {
  let checker: TypeCheck<TSchema>
  try {
    checker = TypeCompiler.Compile(schema)
  } catch (err) {
    throw new FST_SSE_INVALID_SCHEMA(event,
      `${(err as Error).message} (validation needs TypeBox schemas; validate: false serializes without checking)`,
      { cause: err })
  }
  return {
    test: (data) => checker.Check(data),
    explain: (data) => {
      const first = checker.Errors(data).First()
      const path = first === undefined || first.path === '' ? '/' : first.path
      // The value itself stays out of the message: payloads may hold data that logs must not.
      const err = new FST_SSE_INVALID_PAYLOAD(event, path, first?.message ?? 'does not match the schema')
      return Object.assign(err, { event, path })
    }
  }
}
