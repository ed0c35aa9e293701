import { randomBytes } from 'node:crypto'
import { FST_SSE_INVALID_OPTION, FST_SSE_STORE_CLOSED } from '../errors.js'
import { formatEventId, parseEventId } from '../event-id.js'
import { assertKnownOptions, functionOption, integerOption } from '../option-checks.js'
import { LiveQueue } from './live-queue.js'
import type {
  AppendInput, AppendOptions, LiveItem, LiveSubscription, ReadOptions, ReadResult, ReplayStore,
  Retention, StoredEvent, StreamKey
} from './types.js'

export interface MemoryStoreOptions {
  /** Most events kept per stream (a stream's own `replay` setting overrides it). Default 1000. */
  maxEvents?: number
  /** Most bytes of event data kept per stream. Default 1 MiB. */
  maxBytes?: number
  /** Events older than this are dropped, on read as well as on append. 0: no age limit. Default 5 minutes. */
  maxAgeMs?: number
  /** Most streams held; past it, the least recently used stream without live subscribers is dropped. Default 10 000. */
  maxStreams?: number
  /** Most bytes of event data held over all streams; past it, the oldest events of the least recently used streams go first. Default 64 MiB. */
  maxTotalBytes?: number
  /** A stream without live subscribers and without activity for this long is dropped with its epoch. Default 10 minutes. */
  idleTtlMs?: number
  /** How long an idempotency key is remembered. Default 2 minutes. */
  idempotencyTtlMs?: number
  /** Clock in ms since the Unix epoch. Default `Date.now`. */
  now?: () => number
}

const MiB = 1024 * 1024
// Idempotency keys remembered per stream at most: a bound, not a window.
const MAX_IDEMPOTENCY_KEYS = 10_000
// A subscription's consumer is the hub, which drains each item in a microtask; a queue this
// long means it stopped draining, and a reset is cheaper than unbounded memory.
const MAX_QUEUED = 65_536

interface Limits {
  maxEvents: number
  maxBytes: number
  maxAgeMs: number
}

interface Remembered {
  event: StoredEvent
  expires: number
}

/** One stream's life: a new Stream (and epoch) whenever its history was dropped. */
class Stream {
  readonly epoch = randomBytes(6).toString('base64url')
  top = 0
  // A queue over a plain array: `start` is the index of the oldest retained event, and the
  // array is compacted once the dead prefix dominates, so trimming stays O(1) amortized.
  events: Array<StoredEvent | undefined> = []
  start = 0
  bytes = 0
  lastActive: number
  limits: Limits
  subscriptions: Set<LiveQueue> | null = null
  idempotency: Map<string, Remembered> | null = null

  constructor (now: number, limits: Limits) {
    this.lastActive = now
    this.limits = limits
  }

  get retained (): number {
    return this.events.length - this.start
  }

  head (): string {
    return formatEventId(this.epoch, this.top)
  }

  /** Drops the oldest event; returns its size. */
  shift (): number {
    const event = this.events[this.start] as StoredEvent
    this.events[this.start] = undefined
    this.start++
    if (this.start > 64 && this.start * 2 > this.events.length) {
      this.events = this.events.slice(this.start)
      this.start = 0
    }
    const size = sizeOf(event)
    this.bytes -= size
    return size
  }

  oldest (): StoredEvent | undefined {
    return this.events[this.start]
  }
}

/**
 * The embedded default store: per-key history in this process's memory. Not shared between
 * processes; each process makes its own epochs, so a cursor from another process is answered
 * with an `epoch` reset, never with a wrong replay.
 */
export function memoryStore (options: MemoryStoreOptions = {}): MemoryReplayStore {
  return new MemoryStore(options)
}

/** The memory store, plus what it holds right now (for tests and dashboards). */
export interface MemoryReplayStore extends ReplayStore {
  readonly stats: { streams: number, bytes: number, subscriptions: number }
}

class MemoryStore implements MemoryReplayStore {
  readonly capabilities = { contiguousOffsets: true, shared: false }
  private readonly streams = new Map<StreamKey, Stream>() // least recently used first
  private readonly defaults: Limits
  private readonly maxStreams: number
  private readonly maxTotalBytes: number
  private readonly idleTtlMs: number
  private readonly idempotencyTtlMs: number
  private readonly now: () => number
  private totalBytes = 0
  private closed = false
  private sweeper: NodeJS.Timeout | undefined

  constructor (options: MemoryStoreOptions) {
    if (options === null || typeof options !== 'object') throw new FST_SSE_INVALID_OPTION('memoryStore options must be an object')
    assertKnownOptions(options, ['maxEvents', 'maxBytes', 'maxAgeMs', 'maxStreams', 'maxTotalBytes', 'idleTtlMs', 'idempotencyTtlMs', 'now'], 'memoryStore')
    this.defaults = {
      maxEvents: integerOption(options.maxEvents, 'memoryStore maxEvents', 1, 1000),
      maxBytes: integerOption(options.maxBytes, 'memoryStore maxBytes', 1, MiB),
      maxAgeMs: integerOption(options.maxAgeMs, 'memoryStore maxAgeMs', 0, 5 * 60_000)
    }
    this.maxStreams = integerOption(options.maxStreams, 'memoryStore maxStreams', 1, 10_000)
    this.maxTotalBytes = integerOption(options.maxTotalBytes, 'memoryStore maxTotalBytes', 1, 64 * MiB)
    this.idleTtlMs = integerOption(options.idleTtlMs, 'memoryStore idleTtlMs', 1, 10 * 60_000)
    this.idempotencyTtlMs = integerOption(options.idempotencyTtlMs, 'memoryStore idempotencyTtlMs', 1, 2 * 60_000)
    this.now = functionOption<() => number>(options.now, 'memoryStore now') ?? Date.now
  }

  async append (key: StreamKey, input: AppendInput, options?: AppendOptions): Promise<StoredEvent> {
    this.assertOpen()
    if (input === null || typeof input !== 'object' || typeof input.data !== 'string') {
      throw new TypeError('append expects { data: string, event?: string }')
    }
    const now = this.now()
    const stream = this.touch(key, now, options?.retention)
    const idempotencyKey = input.idempotencyKey
    if (idempotencyKey !== undefined) {
      const seen = this.remembered(stream, idempotencyKey, now)
      if (seen !== undefined) return seen
    }
    this.expire(stream, now)
    const offset = ++stream.top
    const event: StoredEvent = { id: formatEventId(stream.epoch, offset), offset, event: input.event, data: input.data, ts: now }
    stream.events.push(event)
    const size = sizeOf(event)
    stream.bytes += size
    this.totalBytes += size
    this.trim(stream)
    if (this.totalBytes > this.maxTotalBytes) this.trimGlobal()
    if (idempotencyKey !== undefined) {
      const map = (stream.idempotency ??= new Map())
      map.set(idempotencyKey, { event, expires: now + this.idempotencyTtlMs })
      if (map.size > MAX_IDEMPOTENCY_KEYS) map.delete(map.keys().next().value as string)
    }
    const subscriptions = stream.subscriptions
    if (subscriptions !== null) {
      const item: LiveItem = { type: 'event', event }
      for (const subscription of subscriptions) subscription.push(item)
    }
    return event
  }

  async readAfter (key: StreamKey, lastId: string, options?: ReadOptions): Promise<ReadResult> {
    this.assertOpen()
    const now = this.now()
    const stream = this.touch(key, now, options?.retention)
    const head = stream.head()
    const position = parseEventId(lastId)
    if (position === undefined) return { status: 'gap', reason: 'malformed', head }
    if (position.epoch !== stream.epoch) return { status: 'gap', reason: 'epoch', head }
    const last = position.offset
    if (last > stream.top) return { status: 'gap', reason: 'ahead', head }
    if (last === stream.top) return { status: 'ok', events: [], head, complete: true }
    this.expire(stream, now)
    const first = stream.top - stream.retained + 1
    if (last < first - 1) return { status: 'gap', reason: 'trimmed', head }
    const limit = options?.limit
    const wanted = stream.top - last
    let n = limit !== undefined && limit >= 0 && limit < wanted ? limit : wanted
    const from = stream.start + (last + 1 - first)
    const maxBytes = options?.maxBytes
    if (maxBytes !== undefined && maxBytes >= 0) n = withinBytes(stream.events, from, n, maxBytes)
    return { status: 'ok', events: stream.events.slice(from, from + n) as StoredEvent[], head, complete: n === wanted }
  }

  async head (key: StreamKey): Promise<string> {
    this.assertOpen()
    return this.touch(key, this.now(), undefined).head()
  }

  async subscribe (key: StreamKey): Promise<LiveSubscription> {
    this.assertOpen()
    const stream = this.touch(key, this.now(), undefined)
    const subscription = new LiveQueue(MAX_QUEUED, () => this.currentHead(key), (queue) => this.release(key, queue))
    ;(stream.subscriptions ??= new Set()).add(subscription)
    return subscription
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.sweeper !== undefined) clearInterval(this.sweeper)
    this.sweeper = undefined
    for (const stream of this.streams.values()) {
      if (stream.subscriptions !== null) for (const subscription of stream.subscriptions) subscription.end()
    }
    this.streams.clear()
    this.totalBytes = 0
  }

  /** Streams held and bytes of event data, for tests and metrics. */
  get stats (): { streams: number, bytes: number, subscriptions: number } {
    let subscriptions = 0
    for (const stream of this.streams.values()) subscriptions += stream.subscriptions?.size ?? 0
    return { streams: this.streams.size, bytes: this.totalBytes, subscriptions }
  }

  /** The head without touching the LRU order. */
  currentHead (key: StreamKey): string {
    return this.streams.get(key)?.head() ?? 'unknown:0'
  }

  /** Called by a subscription when it closes. */
  release (key: StreamKey, subscription: LiveQueue): void {
    const stream = this.streams.get(key)
    if (stream === undefined || stream.subscriptions === null) return
    stream.subscriptions.delete(subscription)
    if (stream.subscriptions.size === 0) stream.subscriptions = null
    // The idle countdown starts when the last subscriber leaves, not at the last append.
    stream.lastActive = this.now()
  }

  /** The stream of `key`, created (with a new epoch) if absent or idle, moved to the back of the LRU order. */
  private touch (key: StreamKey, now: number, retention: Retention | undefined): Stream {
    let stream = this.streams.get(key)
    if (stream !== undefined && stream.subscriptions === null && now - stream.lastActive >= this.idleTtlMs) {
      this.drop(key, stream)
      stream = undefined
    }
    if (stream === undefined) {
      stream = new Stream(now, this.limitsOf(retention))
      this.streams.set(key, stream)
      if (this.streams.size > this.maxStreams) this.evictOne(key)
      this.startSweeper()
    } else {
      this.streams.delete(key)
      this.streams.set(key, stream)
      stream.lastActive = now
      if (retention !== undefined) stream.limits = this.limitsOf(retention)
    }
    return stream
  }

  private limitsOf (retention: Retention | undefined): Limits {
    if (retention === undefined) return this.defaults
    return {
      maxEvents: retention.maxEvents ?? this.defaults.maxEvents,
      maxBytes: retention.maxBytes ?? this.defaults.maxBytes,
      maxAgeMs: retention.maxAgeMs ?? this.defaults.maxAgeMs
    }
  }

  private remembered (stream: Stream, idempotencyKey: string, now: number): StoredEvent | undefined {
    const map = stream.idempotency
    if (map === null) return undefined
    // Oldest first: expired entries are at the front.
    for (const [k, entry] of map) {
      if (entry.expires > now) break
      map.delete(k)
    }
    return map.get(idempotencyKey)?.event
  }

  /** Age retention: applied on append and on read, since without appends nothing else would. */
  private expire (stream: Stream, now: number): void {
    const maxAgeMs = stream.limits.maxAgeMs
    if (maxAgeMs === 0) return
    let oldest = stream.oldest()
    while (oldest !== undefined && now - oldest.ts > maxAgeMs) {
      this.totalBytes -= stream.shift()
      oldest = stream.oldest()
    }
  }

  private trim (stream: Stream): void {
    const { maxEvents, maxBytes } = stream.limits
    while (stream.retained > maxEvents || (stream.bytes > maxBytes && stream.retained > 0)) {
      this.totalBytes -= stream.shift()
    }
  }

  /** Over the global byte cap: oldest events of the least recently used streams go first. */
  private trimGlobal (): void {
    for (const stream of this.streams.values()) {
      while (this.totalBytes > this.maxTotalBytes && stream.retained > 0) this.totalBytes -= stream.shift()
      if (this.totalBytes <= this.maxTotalBytes) return
    }
  }

  /** Over the stream cap: drops the least recently used stream nobody is subscribed to. */
  private evictOne (keep: StreamKey): void {
    for (const [key, stream] of this.streams) {
      if (key !== keep && stream.subscriptions === null) {
        this.drop(key, stream)
        return
      }
    }
    // Every stream has live subscribers: their number is bounded by the connections.
  }

  private drop (key: StreamKey, stream: Stream): void {
    this.streams.delete(key)
    this.totalBytes -= stream.bytes
  }

  private startSweeper (): void {
    if (this.sweeper !== undefined) return
    const period = Math.max(1000, Math.min(60_000, this.idleTtlMs))
    this.sweeper = setInterval(sweep, period, this)
    this.sweeper.unref()
  }

  /** Drops idle streams; stops the timer once none are left. */
  sweepIdle (): void {
    const now = this.now()
    for (const [key, stream] of this.streams) {
      if (stream.subscriptions === null && now - stream.lastActive >= this.idleTtlMs) this.drop(key, stream)
    }
    if (this.streams.size === 0 && this.sweeper !== undefined) {
      clearInterval(this.sweeper)
      this.sweeper = undefined
    }
  }

  private assertOpen (): void {
    if (this.closed) throw new FST_SSE_STORE_CLOSED()
  }
}

function sweep (store: MemoryStore): void {
  store.sweepIdle()
}

/** How many of the `n` events from `from` fit in `maxBytes` of data (at least one). */
function withinBytes (events: Array<StoredEvent | undefined>, from: number, n: number, maxBytes: number): number {
  let bytes = 0
  for (let i = 0; i < n; i++) {
    bytes += (events[from + i] as StoredEvent).data.length
    if (bytes > maxBytes) return Math.max(1, i)
  }
  return n
}

function sizeOf (event: StoredEvent): number {
  return Buffer.byteLength(event.data) + (event.event === undefined ? 0 : event.event.length)
}
