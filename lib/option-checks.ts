import {
  FST_SSE_INVALID_OPTION, FST_SSE_INVALID_PUBLISH_OPTION, FST_SSE_INVALID_ROUTE_OPTION, FST_SSE_INVALID_STORE_OPTION,
  FST_SSE_INVALID_STREAM_OPTION, FST_SSE_INVALID_SUBSCRIBE_OPTION
} from './errors.js'

// Names longer than this are cut before comparing: a hostile key must not cost quadratic time.
const MAX_COMPARED = 64

// Every options object the package takes (register(), routes' `sse`, stream declarations,
// subscribe(), publish(), the stores) is checked with these, so a mistake reads the same
// wherever it is made: the option, what it must be and what it got. Each options object
// raises its own code (all of them FST_SSE_INVALID_OPTION by instanceof), so the checks take
// the error to raise rather than knowing every caller.

/** Builds the coded error of one options object from what is wrong with it. */
export type OptionError = (detail: string) => Error

/** `app.register(sse, options)`. */
export const pluginOption: OptionError = (detail) => new FST_SSE_INVALID_OPTION(detail)

/** A route's `sse` option; `route` as Fastify names it (`GET /jobs`). */
export const routeOption = (route: string): OptionError => (detail) => new FST_SSE_INVALID_ROUTE_OPTION(route, detail)

/** `fastify.sse.stream(name, options)`. */
export const streamOption = (name: string): OptionError => (detail) => new FST_SSE_INVALID_STREAM_OPTION(name, detail)

/** `memoryStore()`, `redisStore()`. */
export const storeOption = (store: string): OptionError => (detail) => new FST_SSE_INVALID_STORE_OPTION(store, detail)

/** `reply.sse.subscribe(stream, options)`. */
export const subscribeOption: OptionError = (detail) => new FST_SSE_INVALID_SUBSCRIBE_OPTION(detail)

/** `fastify.sse.publish(stream, item, options)`. */
export const publishOption: OptionError = (detail) => new FST_SSE_INVALID_PUBLISH_OPTION(detail)

/** The errors of an options object nested in another (`replay` in a stream's options): named by its path. */
export const nestedOption = (invalid: OptionError, path: string): OptionError => (detail) => invalid(`${path}: ${detail}`)

/** An integer option: `fallback` when absent; anything but a safe integer of at least `min` is refused. */
export function integerOption<Fallback extends number | undefined> (
  value: unknown, name: string, min: number, fallback: Fallback, invalid: OptionError
): number | Fallback {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    const what = min === 0 ? 'a non-negative integer' : min === 1 ? 'a positive integer' : `an integer >= ${min}`
    throw invalid(`${name} must be ${what}, got ${describeOption(value)}`)
  }
  return value
}

/** A period in milliseconds: `false` or 0 turns it off (0), `fallback` when absent. */
export function intervalOption (value: unknown, name: string, fallback: number, invalid: OptionError): number {
  if (value === undefined) return fallback
  if (value === false) return 0
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${name} must be a non-negative integer or false, got ${describeOption(value)}`)
  }
  return value
}

/** A function option; undefined when absent. */
export function functionOption<T extends (...args: any[]) => any> (
  value: unknown, name: string, invalid: OptionError, what = 'a function'
): T | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'function') throw invalid(`${name} must be ${what}, got ${describeOption(value)}`)
  return value as T
}

/** A value as an option message shows it: strings quoted, other primitives as written, objects by type. */
export function describeOption (v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v)
  return typeof v
}

/**
 * Refuses an options object with a name that is not one of `known`: a misspelt option
 * (`maxConnectionMS`) would otherwise be ignored and its default silently used.
 */
export function assertKnownOptions (options: object, known: readonly string[], invalid: OptionError): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue
    const nearest = nearestName(name, known)
    const shown = name.length > MAX_COMPARED ? JSON.stringify(name.slice(0, MAX_COMPARED)) + '…' : JSON.stringify(name)
    throw invalid(`unknown option ${shown}` + (nearest === undefined ? '' : ` (did you mean "${nearest}"?)`))
  }
}

/** The known name closest to `name` by edit distance (case differences cost half), ties to the first. */
export function nearestName (name: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  const a = name.slice(0, MAX_COMPARED)
  for (const candidate of known) {
    const d = editDistance(a, candidate)
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

/**
 * Optimal string alignment distance (Levenshtein plus adjacent transpositions), in half
 * units so that a change of case alone (`MS` for `Ms`) counts as less than a wrong letter.
 */
export function editDistance (a: string, b: string): number {
  const n = a.length
  const m = b.length
  const width = m + 1
  // One flat table: rows i-2, i-1 and i live at (i % 3) * width.
  const d = new Int32Array(width * 3)
  for (let j = 0; j <= m; j++) d[j] = j * 2
  for (let i = 1; i <= n; i++) {
    const row = (i % 3) * width
    const prev = ((i - 1) % 3) * width
    const prev2 = ((i + 1) % 3) * width
    d[row] = i * 2
    const ca = a.charCodeAt(i - 1)
    for (let j = 1; j <= m; j++) {
      const cb = b.charCodeAt(j - 1)
      const sub = ca === cb ? 0 : lower(ca) === lower(cb) ? 1 : 2
      let v = Math.min(at(d, prev + j) + 2, at(d, row + j - 1) + 2, at(d, prev + j - 1) + sub)
      if (i > 1 && j > 1 && ca === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === cb) v = Math.min(v, at(d, prev2 + j - 2) + 2)
      d[row + j] = v
    }
  }
  return at(d, (n % 3) * width + m)
}

function at (table: Int32Array, index: number): number {
  return table[index] as number
}

function lower (code: number): number {
  return code >= 65 && code <= 90 ? code + 32 : code
}
