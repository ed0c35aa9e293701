import type { FastifyRequest } from 'fastify'

export interface LastEventIdOptions {
  /** Query parameter read when the header is absent (EventSource polyfills send it); false to ignore. */
  query: string | false
  /** Longer values are refused, not truncated: a truncated id would name another position. */
  maxLength: number
}

/** What the client sent as its last event id. */
export type LastEventIdResult =
  | { status: 'absent' }
  | { status: 'ok', value: string }
  | { status: 'invalid', reason: 'too-long' | 'control' | 'encoding' }

const ABSENT: LastEventIdResult = { status: 'absent' }
const NON_ASCII = /[^\x00-\x7f]/ // eslint-disable-line no-control-regex
const BEYOND_LATIN1 = /[^\x00-\xff]/ // eslint-disable-line no-control-regex
const FORBIDDEN = /[\x00\r\n]/ // eslint-disable-line no-control-regex
// ignoreBOM: a leading U+FEFF is part of the id, not a byte order mark to strip.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const isWellFormed = (String.prototype as unknown as { isWellFormed: (this: string) => boolean }).isWellFormed

export function readLastEventId (request: FastifyRequest, options: LastEventIdOptions): LastEventIdResult {
  let value: unknown = request.headers['last-event-id']
  let fromHeader = true
  if (value === undefined && options.query !== false) {
    const query = request.query as Record<string, unknown> | undefined
    value = query?.[options.query]
    fromHeader = false
  }
  if (Array.isArray(value)) value = value[0]
  // An empty id is the client's "no position": after an `id:` reset browsers send no header at all.
  if (typeof value !== 'string' || value === '') return ABSENT
  // Bytes on the wire, not characters: the cap must hold before any decoding work.
  if (value.length > options.maxLength * 4) return { status: 'invalid', reason: 'too-long' }
  if (fromHeader && NON_ASCII.test(value) && !BEYOND_LATIN1.test(value)) {
    // Node hands header bytes to JavaScript as latin1; browsers send the id as UTF-8. (A value
    // with characters beyond latin1 did not come off the wire, e.g. from inject: keep it.)
    // Fatal decoding: only bytes that are not UTF-8 make it invalid. A U+FFFD the client
    // really holds (it is a character like any other) is kept.
    try {
      value = UTF8.decode(Buffer.from(value, 'latin1'))
    } catch {
      return { status: 'invalid', reason: 'encoding' }
    }
  }
  const id = value as string
  // The encoder never sends a lone surrogate, so no client holds one (inject and queries can carry them).
  if (!isWellFormed.call(id)) return { status: 'invalid', reason: 'encoding' }
  if (Buffer.byteLength(id) > options.maxLength) return { status: 'invalid', reason: 'too-long' }
  // The encoder never sends these in an id, so a client cannot legitimately hold one.
  if (FORBIDDEN.test(id)) return { status: 'invalid', reason: 'control' }
  return { status: 'ok', value: id }
}
