import { FST_SSE_EVENT_TOO_LARGE, FST_SSE_INVALID_EVENT, FST_SSE_INVALID_RETRY, FST_SSE_SERIALIZE } from './errors.js'
import { fitsUnder, frameBytes } from './size.js'
import { describeThrown, readableError } from './thrown.js'

/**
 * One Server-Sent Event. Every field is optional: an item with only `id` moves the client's
 * last event ID without firing an event, one with only `comment` is a keep-alive.
 */
export interface SseItem<Data = unknown, Event extends string = string> {
  /** A string is sent as is (split into `data:` lines); anything else is serialized (JSON by default). */
  data?: Data
  /** Event type; the client dispatches `message` when absent or empty. Must not contain CR or LF. */
  event?: Event
  /** Last event ID. A string without CR, LF or NUL, or a safe integer written in decimal. `""` resets the client's ID. */
  id?: string | number
  /** Reconnection delay hint in milliseconds: a non-negative safe integer. */
  retry?: number
  /** A comment line (ignored by clients); line breaks produce one comment line each. */
  comment?: string
}

/** Turns a non-string `data` value into text. The result may contain line breaks; the encoder splits them. */
export type DataSerializer = (data: unknown, event: string | undefined) => string

export const jsonSerializer: DataSerializer = (data) => {
  let text: string | undefined
  try {
    text = JSON.stringify(data)
  } catch (err) {
    // BigInt values and circular structures, or whatever a toJSON() threw.
    const error = readableError(err)
    throw error === undefined
      ? new FST_SSE_SERIALIZE(`toJSON() threw ${describeThrown(err)}`)
      : new FST_SSE_SERIALIZE(error.message, { cause: error })
  }
  // JSON.stringify answers undefined (not a string) for functions, symbols and undefined.
  if (typeof text !== 'string') throw new FST_SSE_SERIALIZE(`${typeof data} is not JSON-serializable`)
  return text
}

/** Options of {@link encodeEvent}. */
export interface EncodeOptions {
  /** Largest encoded event in bytes: a bigger one is refused with FST_SSE_EVENT_TOO_LARGE before it is built. Default: no limit. */
  maxEventBytes?: number
}

/**
 * Encodes one item into one complete event block (field lines, then an empty line).
 * Rejects anything a conforming client would misread: CR/LF in `event`, CR/LF/NUL in `id`,
 * a `retry` that is not a non-negative safe integer, text with a lone surrogate (it would
 * arrive as U+FFFD). Falsy values (`""`, `0`) are kept.
 */
export function encodeEvent (item: SseItem, options?: EncodeOptions): string {
  return encodeItem(item, jsonSerializer, options?.maxEventBytes ?? Infinity)
}

/** The encoder behind {@link encodeEvent}, with the serializer for non-string data chosen by the caller. */
export function encodeItem (item: SseItem, serialize: DataSerializer, maxBytes = Infinity): string {
  if (item === null || typeof item !== 'object') {
    throw new FST_SSE_INVALID_EVENT(`expected an object, got ${item === null ? 'null' : typeof item}`)
  }
  const data = item.data
  if (data === undefined || typeof data === 'string') return encodeFrame(item, data, maxBytes)
  const text = serialize(data, item.event)
  return serialize === jsonSerializer && typeof text === 'string' ? encodeJsonFrame(item, text, maxBytes) : encodeFrame(item, text, maxBytes)
}

/**
 * {@link encodeFrame} for text that JSON.stringify produced. Such text escapes every control
 * character and every lone surrogate, so it is always one valid `data:` line: the per-character
 * scan is skipped, and the block is built in one pass. `event` and `id` are checked as usual,
 * and the size before the block is built.
 */
export function encodeJsonFrame (item: Omit<SseItem, 'data'>, text: string, maxBytes = Infinity): string {
  // Comments and retry hints are rare on data events: they take the general path.
  if (item.comment !== undefined || item.retry !== undefined) return encodeFrame(item, text, maxBytes)
  const { event, id } = item
  const eventLine = event === undefined ? '' : eventField(event)
  // The usual event, a safe-integer id well under the size limit, is built in one expression:
  // its size is bounded from lengths alone, and no field string is made on the way (that
  // intermediate string was about a twentieth of the CPU per event of a busy stream).
  if (typeof id === 'number' && Number.isSafeInteger(id) && fitsUnder(eventLine.length + MAX_INTEGER_ID_LINE, undefined, text) <= maxBytes) {
    return eventLine + 'id: ' + id + '\ndata: ' + text + '\n\n'
  }
  let fields = eventLine
  if (id !== undefined) fields += idField(id)
  if (maxBytes !== Infinity && fitsUnder(fields.length, undefined, text) > maxBytes) {
    const bytes = frameBytes(fields, undefined, text)
    if (bytes > maxBytes) throw new FST_SSE_EVENT_TOO_LARGE(bytes, maxBytes)
  }
  return fields + 'data: ' + text + '\n\n'
}

// The longest `id:` line a safe integer makes: "id: -9007199254740991\n".
const MAX_INTEGER_ID_LINE = 22

/**
 * Validates and encodes one item into one event block (or '' for nothing to send), refusing
 * with FST_SSE_EVENT_TOO_LARGE, before doing the work, a block over `maxBytes`.
 */
export type ItemEncoder = (item: SseItem, maxBytes: number) => string

/** A block with an `id:` field alone: moves the client's last event id without dispatching an event. Only for ids the plugin made. */
export function idOnlyFrame (id: string): string {
  return 'id: ' + id + '\n\n'
}

/**
 * Frames one event whose data is already text (serialized, validated, or read back from a
 * store): the fields of `item` other than `data`, then `text` as `data:` lines. Each field is
 * read once. Every field is checked, then the size, and only then is the block built: an
 * oversized block costs a scan of its text, never the building of it.
 */
export function encodeFrame (item: Omit<SseItem, 'data'>, text: string | undefined, maxBytes = Infinity): string {
  const { event, id, retry, comment } = item
  let fields = ''
  if (event !== undefined) fields += eventField(event)
  if (id !== undefined) fields += idField(id)
  if (retry !== undefined) fields += retryField(retry)
  if (comment !== undefined) checkText(comment, 'comment')
  if (text !== undefined) checkText(text, 'data')
  if (maxBytes !== Infinity && fitsUnder(fields.length, comment, text) > maxBytes) {
    const bytes = frameBytes(fields, comment, text)
    if (bytes > maxBytes) throw new FST_SSE_EVENT_TOO_LARGE(bytes, maxBytes)
  }
  let out = comment === undefined ? fields : commentLines(comment) + fields
  if (text !== undefined) out += dataLines(text)
  return out === '' ? '' : out + '\n'
}

// A lone surrogate cannot be written as UTF-8: it would reach the client as U+FFFD, silently
// changed. (String.prototype.isWellFormed, Node 20+; ES2024 is past this project's lib setting.)
const isWellFormed = (String.prototype as unknown as { isWellFormed: (this: string) => boolean }).isWellFormed

function checkText (text: unknown, field: string): void {
  if (typeof text !== 'string') throw new FST_SSE_INVALID_EVENT(`${field} must be a string, got ${typeof text}`)
  if (!isWellFormed.call(text)) throw new FST_SSE_INVALID_EVENT(`${field} contains a lone surrogate, which UTF-8 cannot carry`)
}

/** `data:` lines for already-serialized text, split on CRLF, CR and LF (each counts once). */
function dataLines (text: string): string {
  // Serialized JSON never contains a raw CR or LF, so the common case is one line.
  const lf = text.indexOf('\n')
  const cr = text.indexOf('\r')
  if (lf === -1 && cr === -1) return 'data: ' + text + '\n'
  // Native splitting: linear in the text, whatever its shape.
  const lines = cr === -1 ? text.split('\n') : lf === -1 ? text.split('\r') : text.split(LINE_BREAKS)
  return 'data: ' + lines.join('\ndata: ') + '\n'
}

/** One `:` line per line of text; never a blank line, never a field. */
function commentLines (text: string): string {
  if (text.indexOf('\n') === -1 && text.indexOf('\r') === -1) return text === '' ? ':\n' : ': ' + text + '\n'
  return text.split(LINE_BREAKS).map(commentLine).join('\n') + '\n'
}

function commentLine (line: string): string {
  return line === '' ? ':' : ': ' + line
}

const LINE_BREAKS = /\r\n|\r|\n/
const LINE_BREAK = /[\r\n]/
const LINE_BREAK_OR_NUL = /[\r\n\0]/

// The last event type that passed the checks and its line: a stream mostly repeats a few
// names, so the check runs once per change of name instead of once per event.
let checkedEvent: string | undefined
let checkedEventLine = ''

function eventField (event: unknown): string {
  if (event === checkedEvent) return checkedEventLine
  const line = checkEventField(event)
  checkedEvent = event as string
  checkedEventLine = line
  return line
}

function checkEventField (event: unknown): string {
  if (typeof event !== 'string') throw new FST_SSE_INVALID_EVENT(`event must be a string, got ${typeof event}`)
  if (LINE_BREAK.test(event)) throw new FST_SSE_INVALID_EVENT(`event must not contain CR or LF: ${JSON.stringify(event)}`)
  if (!isWellFormed.call(event)) throw new FST_SSE_INVALID_EVENT('event contains a lone surrogate, which UTF-8 cannot carry')
  // An empty event line is read as "message" by browsers but as "" by some parsers: omit it.
  return event === '' ? '' : 'event: ' + event + '\n'
}

function idField (id: unknown): string {
  if (typeof id === 'number') {
    if (!Number.isSafeInteger(id)) throw new FST_SSE_INVALID_EVENT(`a numeric id must be a safe integer, got ${id}`)
    return 'id: ' + id + '\n'
  }
  if (typeof id !== 'string') throw new FST_SSE_INVALID_EVENT(`id must be a string or a safe integer, got ${typeof id}`)
  // A client silently ignores an id containing NUL, so it would be lost without any error.
  if (LINE_BREAK_OR_NUL.test(id)) throw new FST_SSE_INVALID_EVENT(`id must not contain CR, LF or NUL: ${JSON.stringify(id)}`)
  if (!isWellFormed.call(id)) throw new FST_SSE_INVALID_EVENT('id contains a lone surrogate, which UTF-8 cannot carry')
  return 'id: ' + id + '\n'
}

function retryField (retry: unknown): string {
  if (typeof retry !== 'number' || !Number.isSafeInteger(retry) || retry < 0) {
    throw new FST_SSE_INVALID_RETRY(typeof retry === 'string' ? JSON.stringify(retry) : String(retry))
  }
  return 'retry: ' + retry + '\n'
}
