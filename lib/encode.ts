import { FST_SSE_INVALID_EVENT, FST_SSE_INVALID_RETRY, FST_SSE_SERIALIZE } from './errors.js'

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
    // BigInt values and circular structures.
    throw new FST_SSE_SERIALIZE((err as Error).message, { cause: err })
  }
  // JSON.stringify answers undefined (not a string) for functions, symbols and undefined.
  if (typeof text !== 'string') throw new FST_SSE_SERIALIZE(`${typeof data} is not JSON-serializable`)
  return text
}

const CR = 13
const LF = 10

/**
 * Encodes one item into one complete event block (field lines, then an empty line).
 * Rejects anything a conforming client would misread: CR/LF in `event`, CR/LF/NUL in `id`,
 * a `retry` that is not a non-negative safe integer. Falsy values (`""`, `0`) are kept.
 */
export function encodeEvent (item: SseItem): string {
  return encodeItem(item, jsonSerializer)
}

/** The encoder behind {@link encodeEvent}, with the serializer for non-string data chosen by the caller. */
export function encodeItem (item: SseItem, serialize: DataSerializer): string {
  if (item === null || typeof item !== 'object') {
    throw new FST_SSE_INVALID_EVENT(`expected an object, got ${item === null ? 'null' : typeof item}`)
  }
  const data = item.data
  if (data === undefined || typeof data === 'string') return encodeFrame(item, data)
  const text = serialize(data, item.event)
  return serialize === jsonSerializer ? encodeJsonFrame(item, text) : encodeFrame(item, text)
}

/**
 * {@link encodeFrame} for text that JSON.stringify or a schema-compiled serializer produced.
 * Such text escapes every control character and every lone surrogate, so it is always one
 * valid `data:` line: the per-character scan is skipped, and the block is built in one pass.
 * `event` and `id` are checked as usual.
 */
export function encodeJsonFrame (item: Omit<SseItem, 'data'>, text: string): string {
  // Comments and retry hints are rare on data events: they take the general path.
  if (item.comment !== undefined || item.retry !== undefined) return encodeFrame(item, text)
  const { event, id } = item
  const head = event === undefined ? '' : eventField(event)
  return id === undefined ? head + 'data: ' + text + '\n\n' : head + idField(id) + 'data: ' + text + '\n\n'
}

/**
 * Frames one event whose data is already text (serialized, validated, or read back from a
 * store): the fields of `item` other than `data`, then `text` as `data:` lines.
 */
export function encodeFrame (item: Omit<SseItem, 'data'>, text: string | undefined): string {
  const { event, id, retry, comment } = item
  let out = ''
  if (comment !== undefined) out += encodeComment(comment)
  if (event !== undefined) out += eventField(event)
  if (id !== undefined) out += idField(id)
  if (retry !== undefined) out += retryField(retry)
  if (text !== undefined) out += dataLines(text)
  return out === '' ? '' : out + '\n'
}

/** `data:` lines for already-serialized text, split on CRLF, CR and LF (each counts once). */
function dataLines (text: string): string {
  // Serialized JSON never contains a raw CR or LF, so the common case is one line.
  if (text.indexOf('\n') === -1 && text.indexOf('\r') === -1) return 'data: ' + text + '\n'
  let out = ''
  let start = 0
  const length = text.length
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i)
    if (c === LF || c === CR) {
      out += 'data: ' + text.slice(start, i) + '\n'
      if (c === CR && text.charCodeAt(i + 1) === LF) i++
      start = i + 1
    }
  }
  return out + 'data: ' + text.slice(start) + '\n'
}

/** One `:` line per line of text; never a blank line, never a field. */
function encodeComment (text: string): string {
  if (typeof text !== 'string') throw new FST_SSE_INVALID_EVENT(`comment must be a string, got ${typeof text}`)
  if (text.indexOf('\n') === -1 && text.indexOf('\r') === -1) return text === '' ? ':\n' : ': ' + text + '\n'
  return text.split(/\r\n|\r|\n/).map((line) => line === '' ? ':\n' : ': ' + line + '\n').join('')
}

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
  return 'id: ' + id + '\n'
}

function retryField (retry: unknown): string {
  if (typeof retry !== 'number' || !Number.isSafeInteger(retry) || retry < 0) {
    throw new FST_SSE_INVALID_RETRY(typeof retry === 'string' ? JSON.stringify(retry) : String(retry))
  }
  return 'retry: ' + retry + '\n'
}
