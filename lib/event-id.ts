/**
 * Replay ids: `<epoch>:<offset>`. The epoch is 6–32 characters of `[0-9A-Za-z_-]`, the offset
 * a decimal integer without leading zeros up to 2^53 − 1. Anything else is malformed, so a
 * client-sent id is parsed into two plain values and never reaches a store as free text.
 */
const GRAMMAR = /^([0-9A-Za-z_-]{6,32}):(0|[1-9][0-9]{0,15})$/
/** The longest well-formed id: a longer one is refused before the pattern runs. */
const MAX_EVENT_ID_LENGTH = 49

export interface EventPosition {
  epoch: string
  offset: number
}

/** Parses a replay id; undefined when it is malformed. */
export function parseEventId (id: string): EventPosition | undefined {
  if (typeof id !== 'string' || id.length > MAX_EVENT_ID_LENGTH) return undefined
  const match = GRAMMAR.exec(id)
  if (match === null) return undefined
  const offset = Number(match[2])
  if (!Number.isSafeInteger(offset)) return undefined
  return { epoch: match[1] as string, offset }
}

export function formatEventId (epoch: string, offset: number): string {
  return epoch + ':' + offset
}

/**
 * Splits an id a store made (its own heads and events, never a client's): the epoch is what
 * comes before the last colon. Client-sent ids go through {@link parseEventId}.
 */
export function splitEventId (id: string): EventPosition {
  const colon = id.lastIndexOf(':')
  return { epoch: id.slice(0, colon), offset: Number(id.slice(colon + 1)) }
}

/** The epoch of an id a store made; '' for an id without one. */
export function epochOf (id: string): string {
  const colon = id.lastIndexOf(':')
  return colon === -1 ? '' : id.slice(0, colon)
}
