import type { DataSerializer, SseItem } from './encode.js'
import { getHeapStatistics } from 'node:v8'
import { encodeItem, jsonSerializer } from './encode.js'
import { FST_SSE_INVALID_OPTION } from './errors.js'
import type { FastifyRequest } from 'fastify'
import { assertKnownOptions, describeOption as describe, functionOption, integerOption, intervalOption, pluginOption, type OptionError } from './option-checks.js'

/** What register() takes, but for the replay store (see SsePluginOptions, which adds it). */
export interface CoreOptions {
  /** A comment line after this many milliseconds of silence, so proxies keep the stream open. `false` or 0: never. Default 15 000. */
  heartbeatMs?: number | false
  /** Reconnection delay sent to the client when a stream opens (`retry:`). Default: none (the browser's own, about 3 s). */
  retryMs?: number
  /** A client whose writes stay blocked this long is disconnected and its producer cancelled. `false` or 0: never. Default 30 000. */
  stallTimeoutMs?: number | false
  /** Most bytes waiting for one slow client on pushed streams (fan-out, `open()`) before it is disconnected. Default 1 MiB. */
  maxBufferedBytes?: number
  /**
   * Most bytes waiting for every slow client together, in this plugin instance. Over it, the
   * clients furthest behind are disconnected first (end reason `budget`) until the sum is back
   * under it. Default: a quarter of the V8 heap limit.
   */
  maxTotalBufferedBytes?: number
  /** Largest encoded event; a bigger one ends the stream with an error. Default 1 MiB. */
  maxEventBytes?: number
  /** Serializes non-string `data` on routes without schemas (and on typed routes with `serialize: false`). Default `JSON.stringify`. */
  serializer?: DataSerializer
  /**
   * The terminal item sent when the producer, an item or the serializer fails, or `false` to
   * end the stream without one. The error itself is logged, never sent. Its data is
   * always serialized as JSON (the configured serializer may be what failed). Default:
   * `{ event: 'error', data: { message: 'Internal Server Error' } }`.
   */
  errorEvent?: false | ((error: Error) => SseItem)
  /** Written to every open stream by `fastify.close()` before it ends them, e.g. `{ retry: 5000 }`. Default: none. */
  shutdownEvent?: SseItem | false
  /** Query parameter read as the last event id when the header is absent. `false` to ignore. Default `lastEventId`. */
  lastEventIdQuery?: string | false
  /** Longest accepted last event id, in bytes; longer ones are treated as invalid. Default 256. */
  maxLastEventIdLength?: number
  /**
   * Longest life of one stream, in milliseconds: it then ends with a `retry:` hint and the client
   * reconnects (and resumes by id on replay streams). Each stream gets between 80 % and 100 %
   * of it, drawn at random, so streams opened together do not all reconnect together.
   * A route's `sse.maxConnectionMs` overrides it. `false` or 0: no limit. Default: no limit.
   */
  maxConnectionMs?: number | false
  /** `retry:` sent when a stream is ended on purpose (lifetime, `expireAt`), so the client comes back this soon. Default 1000. */
  reconnectMs?: number
  /** Most streams open at once in this plugin instance; more are refused (see `limitRetryMs`). Default: no cap. */
  maxStreams?: number
  /** Most streams open at once per key (see `streamKey`). Default: no cap. */
  maxStreamsPerKey?: number
  /** The key of a request for `maxStreamsPerKey`, derived on the server (a user id). Default: the client address, `request.ip`. */
  streamKey?: (request: FastifyRequest) => string
  /**
   * A refused stream is a 200 that carries `retry:` and ends at once, so `EventSource` backs off
   * and tries again (any other status makes it give up for good). The delay is drawn between
   * this and twice this, so refused clients do not come back together. Default 30 000.
   */
  limitRetryMs?: number
  /** Monotonic clock in milliseconds for heartbeats, stalls and lifetimes. Default `performance.now`. */
  now?: () => number
}

/** Names `register()` accepts; Fastify's own register options pass through it too. */
const PLUGIN_OPTIONS = [
  'heartbeatMs', 'retryMs', 'stallTimeoutMs', 'maxBufferedBytes', 'maxTotalBufferedBytes', 'maxEventBytes', 'serializer', 'errorEvent',
  'shutdownEvent', 'lastEventIdQuery', 'maxLastEventIdLength', 'store', 'maxConnectionMs', 'reconnectMs',
  'maxStreams', 'maxStreamsPerKey', 'streamKey', 'limitRetryMs', 'now',
  'prefix', 'logLevel', 'logSerializers'
] as const

export interface ResolvedOptions {
  heartbeatMs: number
  stallTimeoutMs: number
  maxBufferedBytes: number
  maxTotalBufferedBytes: number
  maxEventBytes: number
  serializer: DataSerializer
  errorEvent: false | ((error: Error) => SseItem)
  /** Opening frame: headers go out with it at once. */
  openFrame: string
  /** Pre-encoded shutdown block, '' for none. */
  shutdownFrame: string
  lastEventIdQuery: string | false
  maxLastEventIdLength: number
  maxConnectionMs: number
  /** The `retry:` block sent before a deliberate end. */
  reconnectFrame: string
  maxStreams: number
  maxStreamsPerKey: number
  streamKey: ((request: FastifyRequest) => string) | undefined
  limitRetryMs: number
  now: () => number
}

const MiB = 1024 * 1024

const defaultErrorEvent = (): SseItem => ({ event: 'error', data: { message: 'Internal Server Error' } })

export function resolveOptions (options: CoreOptions = {}): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw pluginOption(`options must be an object, got ${typeof options}`)
  assertKnownOptions(options, PLUGIN_OPTIONS, pluginOption)
  const retryMs = integerOption(options.retryMs, 'retryMs', 0, undefined, pluginOption)
  const serializer = functionOption<DataSerializer>(options.serializer, 'serializer', pluginOption) ?? jsonSerializer
  const errorEvent = options.errorEvent === false
    ? false
    : functionOption<(error: Error) => SseItem>(options.errorEvent, 'errorEvent', pluginOption, 'a function or false') ?? defaultErrorEvent
  const query = options.lastEventIdQuery
  if (query !== undefined && query !== false && (typeof query !== 'string' || query === '')) {
    throw pluginOption(`lastEventIdQuery must be a non-empty string or false, got ${describe(query)}`)
  }
  let shutdownFrame = ''
  if (options.shutdownEvent !== undefined && options.shutdownEvent !== false) {
    try {
      shutdownFrame = encodeItem(options.shutdownEvent, serializer)
    } catch (err) {
      throw new FST_SSE_INVALID_OPTION(`shutdownEvent: ${(err as Error).message}`, { cause: err })
    }
  }
  return {
    heartbeatMs: intervalOption(options.heartbeatMs, 'heartbeatMs', 15_000, pluginOption),
    stallTimeoutMs: intervalOption(options.stallTimeoutMs, 'stallTimeoutMs', 30_000, pluginOption),
    maxBufferedBytes: integerOption(options.maxBufferedBytes, 'maxBufferedBytes', 1, MiB, pluginOption),
    maxTotalBufferedBytes: integerOption(options.maxTotalBufferedBytes, 'maxTotalBufferedBytes', 1, Math.floor(getHeapStatistics().heap_size_limit / 4), pluginOption),
    maxEventBytes: integerOption(options.maxEventBytes, 'maxEventBytes', 1, MiB, pluginOption),
    serializer,
    errorEvent,
    openFrame: (retryMs === undefined ? ':' : 'retry: ' + retryMs) + '\n\n',
    shutdownFrame,
    lastEventIdQuery: query ?? 'lastEventId',
    maxLastEventIdLength: integerOption(options.maxLastEventIdLength, 'maxLastEventIdLength', 1, 256, pluginOption),
    maxConnectionMs: intervalOption(options.maxConnectionMs, 'maxConnectionMs', 0, pluginOption),
    reconnectFrame: 'retry: ' + integerOption(options.reconnectMs, 'reconnectMs', 0, 1000, pluginOption) + '\n\n',
    maxStreams: integerOption(options.maxStreams, 'maxStreams', 1, Infinity, pluginOption),
    maxStreamsPerKey: integerOption(options.maxStreamsPerKey, 'maxStreamsPerKey', 1, Infinity, pluginOption),
    streamKey: functionOption<(request: FastifyRequest) => string>(options.streamKey, 'streamKey', pluginOption, 'a function of the request'),
    limitRetryMs: integerOption(options.limitRetryMs, 'limitRetryMs', 1, 30_000, pluginOption),
    now: functionOption<() => number>(options.now, 'now', pluginOption) ?? (() => performance.now())
  }
}

/** A stream's lifetime drawn from [80 %, 100 %] of `maxMs`: spreads the reconnections of streams opened together. */
export function jitteredLifetime (maxMs: number): number {
  return maxMs === 0 ? 0 : Math.max(1, Math.round(maxMs * (0.8 + 0.2 * Math.random())))
}

export function checkMaxConnectionMs (value: unknown, invalid: OptionError): number | undefined {
  if (value === undefined) return undefined
  return intervalOption(value, 'maxConnectionMs', 0, invalid)
}
