/**
 * The composite cursor of a many-topic stream: the `id:` of each of its events names the
 * position of every topic, so the client's one `Last-Event-ID` resumes all of them.
 *
 *     cursor := entry ( "," entry )*
 *     entry  := tag epoch "." offset
 *     tag    := 6 characters of [0-9A-Za-z_-]: 4 from the topic's name, 2 from its store key
 *     epoch  := the store's epoch, 6 to 32 characters of [0-9A-Za-z_-]
 *     offset := the offset in base 36 (lower case, no leading zeros)
 *
 * e.g. `Xk3_a9Qm1bZ-4e.1z,p0Lr7cR2d8Ww.0` for two topics. The tag is fixed-width, so an entry
 * needs no separator between tag and epoch; the epoch alphabet has no `.` or `,`, so the
 * grammar is unambiguous. An entry is 13 to 50 bytes: with offsets under 36^3, 18 on the memory
 * store (8-character epochs) and 22 on Redis (12), so 10 topics take 189 or 229 bytes and 50
 * take 949 or 1,149; the longest possible cursor of the most topics a stream carries is under
 * {@link MAX_CURSOR_BYTES}.
 *
 * The cursor never decides what a client may read: the streams and keys come from the request
 * on the server. The tag only tells which entry belongs to which topic, and whether it was
 * made for the same key, so a stale or pasted cursor answers with a reset, never with a replay
 * from someone else's position.
 */
import { formatEventId } from '../event-id.js'

/** Most topics on one stream. */
export const MAX_TOPICS = 64
/** Longest cursor read: 64 entries of the longest kind (6 + 32 + 1 + 11 + 1 bytes) fit. */
export const MAX_CURSOR_BYTES = 4096

const ENTRY = /^([0-9A-Za-z_-]{4})([0-9A-Za-z_-]{2})([0-9A-Za-z_-]{6,32})\.(0|[1-9a-z][0-9a-z]{0,10})$/
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** One topic's entry in a client's cursor. */
export type CursorEntry =
  | { status: 'ok', keyTag: string, epoch: string, offset: number }
  | { status: 'malformed' }

/**
 * What a client's cursor says, by topic tag: undefined when it is not a cursor at all (every
 * topic then gets a `malformed` reset). A tag that appears twice is malformed for its topic.
 */
export function parseCursor (text: string): Map<string, CursorEntry> | undefined {
  if (typeof text !== 'string' || text.length > MAX_CURSOR_BYTES) return undefined
  const parts = text.split(',', MAX_TOPICS + 1)
  if (parts.length > MAX_TOPICS) return undefined
  const entries = new Map<string, CursorEntry>()
  for (const part of parts) {
    const match = ENTRY.exec(part)
    if (match === null) return undefined
    const offset = parseInt(match[4] as string, 36)
    if (!Number.isSafeInteger(offset)) return undefined
    const tag = match[1] as string
    entries.set(tag, entries.has(tag) ? { status: 'malformed' } : { status: 'ok', keyTag: match[2] as string, epoch: match[3] as string, offset })
  }
  return entries
}

/** The 4-character tag of a topic's name. */
export function nameTag (name: string): string {
  return encode(fnv1a(name, 0x811c9dc5), 4)
}

/** The 2-character tag of a store key: another key's entry is told apart (1 in 4096 is not, and then meets another epoch). */
export function keyTag (key: string): string {
  return encode(fnv1a(key, 0x01000193), 2)
}

/** One topic's entry: `prefix` is `tag + epoch + '.'`, made once per position change of epoch. */
export function entryPrefix (tag: string, epoch: string): string {
  return tag + epoch + '.'
}

export function entryOf (prefix: string, offset: number): string {
  return prefix + offset.toString(36)
}

/** A topic's position as the single-topic id its reset notice reports. */
export function positionOf (entry: CursorEntry & { status: 'ok' }): string {
  return formatEventId(entry.epoch, entry.offset)
}

function fnv1a (text: string, seed: number): number {
  let hash = seed >>> 0
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash
}

function encode (hash: number, chars: number): string {
  let out = ''
  for (let i = 0; i < chars; i++) {
    out += ALPHABET[hash & 63]
    hash >>>= 6
  }
  return out
}
