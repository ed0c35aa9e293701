import { randomBytes } from 'node:crypto'
import { FST_SSE_INVALID_STORE_ARGUMENT, FST_SSE_STORE_CLOSED } from '../errors.js'
import { formatEventId, parseEventId } from '../event-id.js'
import { assertKnownOptions, functionOption, integerOption, storeOption } from '../option-checks.js'
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
const invalid = storeOption('memoryStore')
// Idempotency keys remembered per key at most: a bound, not a window.
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

/** One key's history in this store: a new History (and epoch) whenever the last one was dropped. */
class History {
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
  private readonly histories = new Map<StreamKey, History>() // least recently used first
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
    if (options === null || typeof options !== 'object') throw invalid('options must be an object')
    assertKnownOptions(options, ['maxEvents', 'maxBytes', 'maxAgeMs', 'maxStreams', 'maxTotalBytes', 'idleTtlMs', 'idempotencyTtlMs', 'now'], invalid)
    this.defaults = {
      maxEvents: integerOption(options.maxEvents, 'maxEvents', 1, 1000, invalid),
      maxBytes: integerOption(options.maxBytes, 'maxBytes', 1, MiB, invalid),
      maxAgeMs: integerOption(options.maxAgeMs, 'maxAgeMs', 0, 5 * 60_000, invalid)
    }
    this.maxStreams = integerOption(options.maxStreams, 'maxStreams', 1, 10_000, invalid)
    this.maxTotalBytes = integerOption(options.maxTotalBytes, 'maxTotalBytes', 1, 64 * MiB, invalid)
    this.idleTtlMs = integerOption(options.idleTtlMs, 'idleTtlMs', 1, 10 * 60_000, invalid)
    this.idempotencyTtlMs = integerOption(options.idempotencyTtlMs, 'idempotencyTtlMs', 1, 2 * 60_000, invalid)
    this.now = functionOption<() => number>(options.now, 'now', invalid) ?? Date.now
  }

  async append (key: StreamKey, input: AppendInput, options?: AppendOptions): Promise<StoredEvent> {
    this.assertOpen()
    if (input === null || typeof input !== 'object' || typeof input.data !== 'string') {
      throw new FST_SSE_INVALID_STORE_ARGUMENT('memoryStore append()', 'input must be an object with string data')
    }
    if (input.event !== undefined && typeof input.event !== 'string') throw new FST_SSE_INVALID_STORE_ARGUMENT('memoryStore append()', 'input event must be a string')
    // The same check as the Redis store's, so a store-level caller finds the same contract on both.
    if (input.idempotencyKey !== undefined && (typeof input.idempotencyKey !== 'string' || input.idempotencyKey === '')) {
      throw new FST_SSE_INVALID_STORE_ARGUMENT('memoryStore append()', 'idempotencyKey must be a non-empty string')
    }
    const now = this.now()
    const history = this.touch(key, now, options?.retention)
    const idempotencyKey = input.idempotencyKey
    if (idempotencyKey !== undefined) {
      const seen = this.remembered(history, idempotencyKey, now)
      if (seen !== undefined) return seen
    }
    this.expire(history, now)
    const offset = ++history.top
    const event: StoredEvent = { id: formatEventId(history.epoch, offset), offset, event: input.event, data: input.data, ts: now }
    history.events.push(event)
    const size = sizeOf(event)
    history.bytes += size
    this.totalBytes += size
    this.trim(history)
    if (this.totalBytes > this.maxTotalBytes) this.trimGlobal()
    if (idempotencyKey !== undefined) {
      const map = (history.idempotency ??= new Map())
      map.set(idempotencyKey, { event, expires: now + this.idempotencyTtlMs })
      if (map.size > MAX_IDEMPOTENCY_KEYS) map.delete(map.keys().next().value as string)
    }
    const subscriptions = history.subscriptions
    if (subscriptions !== null) {
      const item: LiveItem = { type: 'event', event }
      for (const subscription of subscriptions) subscription.push(item)
    }
    return event
  }

  async readAfter (key: StreamKey, lastId: string, options?: ReadOptions): Promise<ReadResult> {
    this.assertOpen()
    const now = this.now()
    const history = this.touch(key, now, options?.retention)
    const head = history.head()
    const position = parseEventId(lastId)
    if (position === undefined) return { status: 'gap', reason: 'malformed', head }
    if (position.epoch !== history.epoch) return { status: 'gap', reason: 'epoch', head }
    const last = position.offset
    if (last > history.top) return { status: 'gap', reason: 'ahead', head }
    if (last === history.top) return { status: 'ok', events: [], head, complete: true }
    this.expire(history, now)
    const first = history.top - history.retained + 1
    if (last < first - 1) return { status: 'gap', reason: 'trimmed', head }
    const limit = options?.limit
    const wanted = history.top - last
    let n = limit !== undefined && limit >= 0 && limit < wanted ? limit : wanted
    const from = history.start + (last + 1 - first)
    const maxBytes = options?.maxBytes
    if (maxBytes !== undefined && maxBytes >= 0) n = withinBytes(history.events, from, n, maxBytes)
    return { status: 'ok', events: history.events.slice(from, from + n) as StoredEvent[], head, complete: n === wanted }
  }

  async head (key: StreamKey): Promise<string> {
    this.assertOpen()
    return this.touch(key, this.now(), undefined).head()
  }

  async subscribe (key: StreamKey): Promise<LiveSubscription> {
    this.assertOpen()
    const history = this.touch(key, this.now(), undefined)
    const subscription = new LiveQueue(MAX_QUEUED, () => this.currentHead(key), (queue) => this.release(key, queue))
    ;(history.subscriptions ??= new Set()).add(subscription)
    return subscription
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.sweeper !== undefined) clearInterval(this.sweeper)
    this.sweeper = undefined
    for (const history of this.histories.values()) {
      if (history.subscriptions !== null) for (const subscription of history.subscriptions) subscription.end()
    }
    this.histories.clear()
    this.totalBytes = 0
  }

  /** Streams held and bytes of event data, for tests and metrics. */
  get stats (): { streams: number, bytes: number, subscriptions: number } {
    let subscriptions = 0
    for (const history of this.histories.values()) subscriptions += history.subscriptions?.size ?? 0
    return { streams: this.histories.size, bytes: this.totalBytes, subscriptions }
  }

  /** The head without touching the LRU order. */
  currentHead (key: StreamKey): string {
    return this.histories.get(key)?.head() ?? 'unknown:0'
  }

  /** Called by a subscription when it closes. */
  release (key: StreamKey, subscription: LiveQueue): void {
    const history = this.histories.get(key)
    if (history === undefined || history.subscriptions === null) return
    history.subscriptions.delete(subscription)
    if (history.subscriptions.size === 0) history.subscriptions = null
    // The idle countdown starts when the last subscriber leaves, not at the last append.
    history.lastActive = this.now()
  }

  /** The history of `key`, created (with a new epoch) if absent or idle, moved to the back of the LRU order. */
  private touch (key: StreamKey, now: number, retention: Retention | undefined): History {
    let history = this.histories.get(key)
    if (history !== undefined && history.subscriptions === null && now - history.lastActive >= this.idleTtlMs) {
      this.drop(key, history)
      history = undefined
    }
    if (history === undefined) {
      history = new History(now, this.limitsOf(retention))
      this.histories.set(key, history)
      if (this.histories.size > this.maxStreams) this.evictOne(key)
      this.startSweeper()
    } else {
      this.histories.delete(key)
      this.histories.set(key, history)
      history.lastActive = now
      if (retention !== undefined) history.limits = this.limitsOf(retention)
    }
    return history
  }

  private limitsOf (retention: Retention | undefined): Limits {
    if (retention === undefined) return this.defaults
    return {
      maxEvents: retention.maxEvents ?? this.defaults.maxEvents,
      maxBytes: retention.maxBytes ?? this.defaults.maxBytes,
      maxAgeMs: retention.maxAgeMs ?? this.defaults.maxAgeMs
    }
  }

  private remembered (history: History, idempotencyKey: string, now: number): StoredEvent | undefined {
    const map = history.idempotency
    if (map === null) return undefined
    // Oldest first: expired entries are at the front.
    for (const [k, entry] of map) {
      if (entry.expires > now) break
      map.delete(k)
    }
    return map.get(idempotencyKey)?.event
  }

  /** Age retention: applied on append and on read, since without appends nothing else would. */
  private expire (history: History, now: number): void {
    const maxAgeMs = history.limits.maxAgeMs
    if (maxAgeMs === 0) return
    let oldest = history.oldest()
    while (oldest !== undefined && now - oldest.ts > maxAgeMs) {
      this.totalBytes -= history.shift()
      oldest = history.oldest()
    }
  }

  private trim (history: History): void {
    const { maxEvents, maxBytes } = history.limits
    while (history.retained > maxEvents || (history.bytes > maxBytes && history.retained > 0)) {
      this.totalBytes -= history.shift()
    }
  }

  /** Over the global byte cap: oldest events of the least recently used streams go first. */
  private trimGlobal (): void {
    for (const history of this.histories.values()) {
      while (this.totalBytes > this.maxTotalBytes && history.retained > 0) this.totalBytes -= history.shift()
      if (this.totalBytes <= this.maxTotalBytes) return
    }
  }

  /** Over the history cap: drops the least recently used history nobody is subscribed to. */
  private evictOne (keep: StreamKey): void {
    for (const [key, history] of this.histories) {
      if (key !== keep && history.subscriptions === null) {
        this.drop(key, history)
        return
      }
    }
    // Every history has live subscribers: their number is bounded by the connections.
  }

  private drop (key: StreamKey, history: History): void {
    this.histories.delete(key)
    this.totalBytes -= history.bytes
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
    for (const [key, history] of this.histories) {
      if (history.subscriptions === null && now - history.lastActive >= this.idleTtlMs) this.drop(key, history)
    }
    if (this.histories.size === 0 && this.sweeper !== undefined) {
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
