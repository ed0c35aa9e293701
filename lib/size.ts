import { FST_SSE_EVENT_TOO_LARGE } from './errors.js'

/** Throws when an encoded event is over the size limit. */
export function assertSize (chunk: string, maxEventBytes: number): void {
  // UTF-16 length times three bounds the UTF-8 size: measure only when it could matter.
  if (chunk.length * 3 > maxEventBytes) {
    const bytes = Buffer.byteLength(chunk)
    if (bytes > maxEventBytes) throw new FST_SSE_EVENT_TOO_LARGE(bytes, maxEventBytes)
  }
}

// Bytes a line costs besides its text: "data: " and "\n"; ": " and "\n" (":\n" when empty).
const DATA_LINE = 7
const COMMENT_LINE = 3
const EMPTY_COMMENT_LINE = 2

/**
 * An upper bound on the UTF-8 size of the block the encoder builds from these parts (field
 * lines `fieldsLength` UTF-16 units long, a comment, data text), from their lengths alone: a
 * UTF-16 unit is at most 3 bytes, and a line break becomes at most a line's overhead
 * ("\ndata: " is 7 bytes for a break of 1 or 2 units).
 */
export function fitsUnder (fieldsLength: number, comment: string | undefined, text: string | undefined): number {
  let bound = fieldsLength * 3 + 1
  if (comment !== undefined) bound += comment.length * 3 + COMMENT_LINE
  if (text !== undefined) bound += text.length * DATA_LINE + DATA_LINE
  return bound
}

/**
 * The exact UTF-8 size of that block, without building it: one native byte count and one scan
 * for line breaks per text. (The texts are well-formed, so no character is replaced.)
 */
export function frameBytes (fields: string, comment: string | undefined, text: string | undefined): number {
  let bytes = Buffer.byteLength(fields)
  if (comment !== undefined) bytes += linedBytes(comment, COMMENT_LINE, EMPTY_COMMENT_LINE)
  if (text !== undefined) bytes += linedBytes(text, DATA_LINE, DATA_LINE)
  return bytes === 0 ? 0 : bytes + 1
}

const CR = 13
const LF = 10

/** Bytes of `text` written one line per line (CRLF, CR and LF each end one), with each line's overhead. */
function linedBytes (text: string, perLine: number, perEmptyLine: number): number {
  let lines = 1
  let breakUnits = 0
  let empty = 0
  let lineStart = 0
  const length = text.length
  if (text.indexOf('\n') !== -1 || text.indexOf('\r') !== -1) {
    for (let i = 0; i < length; i++) {
      const c = text.charCodeAt(i)
      if (c !== LF && c !== CR) continue
      if (i === lineStart) empty++
      breakUnits++
      if (c === CR && text.charCodeAt(i + 1) === LF) {
        i++
        breakUnits++
      }
      lines++
      lineStart = i + 1
    }
  }
  if (lineStart === length) empty++
  return Buffer.byteLength(text) - breakUnits + lines * perLine - empty * (perLine - perEmptyLine)
}
