/**
 * The contract between the plugin and a replay store. A store owns event ids, retention and
 * (for shared stores) delivery across processes; the plugin owns connections, framing and
 * the replay-to-live seam. Ids are `<epoch>:<offset>`: the epoch is random per stream life
 * and changes whenever history may have been lost; offsets grow by exactly one per event.
 */

/** Built by the plugin from the route and request; opaque to stores. Never taken raw from a client. */
export type StreamKey = string

export interface StoredEvent {
  /** `<epoch>:<offset>`. */
  id: string
  /** The offset part of `id`, for cheap comparisons. */
  offset: number
  /** SSE event name; undefined for the default `message`. */
  event?: string
  /** Serialized data text (may contain line breaks; the framing splits them). */
  data: string
  /** Store clock, ms since the Unix epoch, for age-based retention. */
  ts: number
}

export interface AppendInput {
  event?: string
  data: string
  /** A repeat of the same key within the store's idempotency window returns the first result and appends nothing. */
  idempotencyKey?: string
}

export type GapReason =
  | 'malformed' // the id fails the grammar or the size limit (answered without a store call)
  | 'epoch' // another epoch: the store was reset, or the id is another instance's or route's
  | 'trimmed' // older than the oldest retained event (count, bytes, age or expiry)
  | 'ahead' // beyond the head (rollback after a crash or failover, or a forged id)
  | 'limit' // more events to replay than the route allows

export type ReadResult =
  | { status: 'ok', events: StoredEvent[], head: string, complete: boolean }
  | { status: 'gap', reason: GapReason, head: string }

export type LiveItem =
  | { type: 'event', event: StoredEvent }
  /** Everyone on this key must resync: the epoch changed, or a hole in delivery could not be repaired. */
  | { type: 'reset', reason: 'epoch' | 'lost', head: string }

export interface LiveSubscription extends AsyncIterable<LiveItem> {
  close: () => Promise<void>
}

export interface StoreCapabilities {
  /** Offsets have no holes, so a jump means a lost message and replay boundaries are exact. */
  contiguousOffsets: boolean
  /** Several processes see the same streams. */
  shared: boolean
}

/**
 * Retention of one stream, as its declaration asks. Each limit overrides the store's default
 * for that stream; a store still applies its global caps (total bytes, number of streams).
 */
export interface Retention {
  /** Most events kept. */
  maxEvents?: number
  /** Most bytes of event data kept (UTF-8). */
  maxBytes?: number
  /** Events older than this are treated as trimmed, on read as well as on append. 0: no age limit. */
  maxAgeMs?: number
}

export interface AppendOptions {
  signal?: AbortSignal
  retention?: Retention
}

export interface ReadOptions {
  limit?: number
  /** Most bytes of event data in one answer; the first event is returned whatever its size. */
  maxBytes?: number
  signal?: AbortSignal
  retention?: Retention
}

export interface ReplayStore {
  readonly capabilities: StoreCapabilities
  /** Assigns the next offset atomically, stores the event, applies retention and delivers it to live subscribers. */
  append: (key: StreamKey, input: AppendInput, options?: AppendOptions) => Promise<StoredEvent>
  /** The events after `lastId`, at most `limit` and `maxBytes` (at least one), in order, as one consistent snapshot; or a gap with its reason. */
  readAfter: (key: StreamKey, lastId: string, options?: ReadOptions) => Promise<ReadResult>
  /** `<epoch>:<top>`; creates the stream's epoch if absent. */
  head: (key: StreamKey) => Promise<string>
  /**
   * Resolves only once live delivery is attached: every event appended after that is yielded,
   * in strictly increasing offset order, without duplicates (and without holes when offsets
   * are contiguous: the store repairs them, or yields a reset).
   */
  subscribe: (key: StreamKey, options?: { signal?: AbortSignal }) => Promise<LiveSubscription>
  /** Releases everything the store opened. The plugin calls it on fastify.close() for the store it created itself; a store passed in is the application's to close. */
  close: () => Promise<void>
}
