import { FST_SSE_EVENT_TOO_LARGE } from './errors.js'

/** Throws when an encoded event is over the size limit. */
export function assertSize (chunk: string, maxEventBytes: number): void {
  // UTF-16 length times three bounds the UTF-8 size: measure only when it could matter.
  if (chunk.length * 3 > maxEventBytes) {
    const bytes = Buffer.byteLength(chunk)
    if (bytes > maxEventBytes) throw new FST_SSE_EVENT_TOO_LARGE(bytes, maxEventBytes)
  }
}
