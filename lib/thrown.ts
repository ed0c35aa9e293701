import { FST_SSE_PRODUCER } from './errors.js'

/**
 * The error to log, report and hand to `errorEvent` for whatever a producer threw or rejected
 * with. An Error whose fields read cleanly is kept as it is; anything else (a primitive, a
 * null-prototype object, a Proxy, an Error whose getters throw) becomes FST_SSE_PRODUCER, so
 * nothing downstream (loggers, their serializers, errorEvent, Fastify's error handler) touches
 * the hostile value itself. Never throws.
 */
export function producerError (thrown: unknown): Error {
  return readableError(thrown) ?? new FST_SSE_PRODUCER('it threw ' + describeThrown(thrown))
}

/** `thrown` when it is an Error whose fields read without throwing, else undefined. Never throws. */
export function readableError (thrown: unknown): Error | undefined {
  try {
    if (!(thrown instanceof Error)) return undefined
    // What loggers and error handlers read: a getter that throws here would throw there.
    readFields(thrown)
    return thrown
  } catch {
    return undefined
  }
}

function readFields (err: Error & { code?: unknown, statusCode?: unknown }): void {
  for (const value of [err.message, err.stack, err.name, err.cause, err.code, err.statusCode]) {
    if (value !== null && typeof value === 'object') Object.getPrototypeOf(value)
  }
}

/** A short description of any thrown value. Never throws, never calls into the value. */
export function describeThrown (value: unknown): string {
  switch (typeof value) {
    case 'string':
      // JSON.stringify never throws for a string and escapes what would break a log line.
      return 'a string ' + JSON.stringify(value.length > 200 ? value.slice(0, 200) + '…' : value)
    case 'symbol':
      return 'a symbol'
    case 'function':
      return 'a function'
    case 'object':
      if (value === null) return 'null'
      try {
        if (Object.getPrototypeOf(value) === null) return 'an object with a null prototype'
        return value instanceof Error ? 'an Error whose properties cannot be read' : 'an object that is not an Error'
      } catch {
        return 'an object that cannot be inspected'
      }
    default:
      // undefined, numbers, booleans and bigints: String() runs no code of theirs.
      return `${typeof value} ${String(value)}`
  }
}
