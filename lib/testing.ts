import type { FastifyInstance, InjectOptions } from 'fastify'
import { EventStreamDecoder, type DecodedEvent } from './decode.js'
import { FST_SSE_INJECT_TIMEOUT } from './errors.js'

export { EventStreamDecoder, decodeEvents, type DecodedEvent } from './decode.js'

export interface InjectEventsOptions {
  /** Disconnect (abort the request) once this many events have arrived. Default: read until the stream ends. */
  count?: number
  /** Give up after this long, disconnect, and reject with what arrived so far. Default 5000. */
  timeoutMs?: number
}

export interface InjectEventsResult {
  statusCode: number
  headers: Record<string, string | string[] | number | undefined>
  /** Every event, as a browser's EventSource would dispatch it. */
  events: DecodedEvent[]
  /** `retry:` values seen. */
  retries: number[]
  /** Comment lines seen (heartbeats are empty comments). */
  comments: string[]
  /** The raw body text that was read. */
  body: string
  /** The client's last event id at the end, as a browser would send it on reconnection ('' for none). */
  lastEventId: string
}

/**
 * Runs an SSE route through `fastify.inject` and collects its events: the whole stream for a
 * finite one, the first `count` for an infinite one (then it disconnects, which aborts the
 * producer exactly as a real client leaving would).
 */
export async function injectEvents (
  app: FastifyInstance, request: InjectOptions | string, options: InjectEventsOptions = {}
): Promise<InjectEventsResult> {
  const { count = Infinity, timeoutMs = 5000 } = options
  const controller = new AbortController()
  const base: InjectOptions = typeof request === 'string' ? { url: request } : request
  const response = await app.inject({ ...base, payloadAsStream: true, signal: controller.signal })
  const result: InjectEventsResult = {
    statusCode: response.statusCode,
    headers: response.headers,
    events: [],
    retries: [],
    comments: [],
    body: '',
    lastEventId: ''
  }
  const decoder = new EventStreamDecoder({
    onEvent: (event) => result.events.push(event),
    onRetry: (ms) => result.retries.push(ms),
    onComment: (text) => result.comments.push(text)
  })
  const stream = response.stream()
  const text = new TextDecoder()
  const timer = setTimeout(() => stream.destroy(new FST_SSE_INJECT_TIMEOUT(result.events.length, count, timeoutMs)), timeoutMs)
  try {
    for await (const chunk of stream) {
      const bytes: Uint8Array = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      result.body += text.decode(bytes, { stream: true })
      decoder.push(bytes)
      if (result.events.length >= count) break
    }
  } finally {
    clearTimeout(timer)
    controller.abort()
  }
  if (result.events.length > count) result.events.length = count
  result.lastEventId = decoder.lastEventId
  return result
}
