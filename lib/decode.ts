/**
 * A conforming `text/event-stream` decoder (WHATWG HTML §9.2.5–9.2.6): what a browser's
 * EventSource makes of the bytes. Used by the test helpers and the fetch-based client.
 */

export interface DecodedEvent {
  /** `message` when the block had no event line. */
  type: string
  data: string
  /** The last event id in force when the event fired (it persists across events). */
  lastEventId: string
}

export interface DecoderHandlers {
  onEvent?: (event: DecodedEvent) => void
  onRetry?: (ms: number) => void
  onComment?: (text: string) => void
}

const DIGITS = /^[0-9]+$/

export class EventStreamDecoder {
  /** The last event id string (persists across blocks, as in a browser). */
  lastEventId = ''
  private readonly handlers: DecoderHandlers
  private readonly utf8 = new TextDecoder('utf-8') // strips one BOM at the start, as the spec asks
  private pending = ''
  private sawCR = false
  private data = ''
  private hasData = false
  private type = ''
  private idBuffer = ''

  constructor (handlers: DecoderHandlers) {
    this.handlers = handlers
  }

  /** Feeds bytes (split anywhere, even inside a character) or text. */
  push (chunk: Uint8Array | string): void {
    let text = typeof chunk === 'string' ? chunk : this.utf8.decode(chunk, { stream: true })
    if (this.sawCR && text.startsWith('\n')) text = text.slice(1) // the LF of a CRLF split across chunks
    this.sawCR = false
    let start = 0
    const buffer = this.pending + text
    const offset = this.pending.length
    this.pending = ''
    for (let i = offset; i < buffer.length; i++) {
      const c = buffer.charCodeAt(i)
      if (c !== 10 && c !== 13) continue
      this.line(buffer.slice(start, i))
      if (c === 13) {
        if (i + 1 === buffer.length) this.sawCR = true
        else if (buffer.charCodeAt(i + 1) === 10) i++
      }
      start = i + 1
    }
    this.pending = buffer.slice(start)
  }

  private line (line: string): void {
    if (line === '') return this.dispatch()
    const colon = line.indexOf(':')
    if (colon === 0) {
      this.handlers.onComment?.(line.slice(line.charCodeAt(1) === 32 ? 2 : 1))
      return
    }
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.charCodeAt(0) === 32) value = value.slice(1)
    switch (field) {
      case 'event': this.type = value; break
      case 'data': this.data += value + '\n'; this.hasData = true; break
      case 'id': if (!value.includes('\0')) this.idBuffer = value; break
      case 'retry': if (DIGITS.test(value)) this.handlers.onRetry?.(Number(value)); break
    }
  }

  private dispatch (): void {
    this.lastEventId = this.idBuffer
    if (!this.hasData) {
      this.type = ''
      return
    }
    const event = { type: this.type === '' ? 'message' : this.type, data: this.data.slice(0, -1), lastEventId: this.lastEventId }
    this.data = ''
    this.hasData = false
    this.type = ''
    this.handlers.onEvent?.(event)
  }
}

/** Decodes a whole stream at once. */
export function decodeEvents (text: string | Uint8Array): DecodedEvent[] {
  const events: DecodedEvent[] = []
  const decoder = new EventStreamDecoder({ onEvent: (e) => events.push(e) })
  decoder.push(text)
  return events
}
