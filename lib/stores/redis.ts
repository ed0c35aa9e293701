/**
 * A replay store on Redis Streams + Pub/Sub, shared by every instance that points at the same
 * Redis: one log and one meta hash per stream key, written by one script per append that also
 * publishes the event; one Pub/Sub subscription per key per instance, repaired from the log.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { FST_SSE_INVALID_KEY, FST_SSE_INVALID_STORE_ARGUMENT, FST_SSE_STORE_CLOSED, FST_SSE_STORE_NOPERM, FST_SSE_STORE_TIMEOUT, FST_SSE_STORE_UNAVAILABLE } from '../errors.js'
import { formatEventId, parseEventId, splitEventId } from '../event-id.js'
import { assertKnownOptions, integerOption, storeOption } from '../option-checks.js'
import { isPermissionError, isReplyError, withTimeout, wrapClient, type CommandConnection, type SubscriberConnection } from './redis-client.js'
import { LiveQueue } from './live-queue.js'
import { KeyTail, parseFrame } from './redis-live.js'
import { wrapClusterClient } from './redis-cluster.js'
import { appendScript, probeScript, readScript, shardedAppendScript, shardedProbeScript, shardedReadScript, streamKeys, type Script, type StreamKeys } from './redis-scripts.js'
import type { AppendInput, AppendOptions, LiveSubscription, ReadOptions, ReadResult, ReplayStore, StoredEvent, StreamKey } from './types.js'

// Recently delivered event data kept per subscribed stream, and for all of them together, to
// serve reconnecting clients without Redis.
const RECENT_BYTES = 256 * 1024
const RECENT_BUDGET = 32 * 1024 * 1024

/** The Redis store: a replay store, and a check of the Redis user's permissions. */
export interface RedisReplayStore extends ReplayStore {
  /**
   * Checks that the Redis user may run every command the store needs on its keys and
   * channels (see the permissions table in docs/redis.md). Rejects with
   * `FST_SSE_STORE_NOPERM` naming what is missing, or with `FST_SSE_STORE_TIMEOUT` /
   * `FST_SSE_STORE_UNAVAILABLE` when Redis cannot be asked. The store runs the same check
   * by itself once its client is first ready and reports a failure to `onError`.
   */
  ready: () => Promise<void>
}

export interface RedisStoreOptions {
  /** An ioredis 6 client or `Cluster` (e.g. `fastify.redis` from @fastify/redis), or a connected node-redis 6 client or `createCluster()` client. The application owns it and closes it. */
  client: unknown
  /** Prefix of every key and channel, after the client's own `keyPrefix` (which the store also puts on its channels). Default `sse:`. */
  prefix?: string
  /** Events kept per stream (trimmed with `MAXLEN ~`, so up to one radix node more). Default 1000. */
  maxEvents?: number
  /** Events older than this are treated as trimmed on replay. 0: no age limit. Default 0. */
  maxAgeMs?: number
  /** An idle stream's log expires this long after its last append; replay from it then answers `trimmed`. Default 1 hour. */
  streamTtlMs?: number
  /** The stream's epoch and position expire this long after the last append; after that the stream starts a new epoch. Default 30 days. */
  metaTtlMs?: number
  /** How long a repeated `idempotencyKey` returns the first result, at least. Default 2 minutes. */
  idempotencyTtlMs?: number
  /** An append fails after this long (and is not applied later). Default 2000. */
  appendTimeoutMs?: number
  /** A read or subscribe fails after this long. Default 2000. */
  readTimeoutMs?: number
  /** Most events fetched by one read command. Default 1000. */
  readCount?: number
  /** Most bytes of event data fetched by one read command (the first event whatever its size). Default 1 MiB. */
  readBytes?: number
  /** How long a key stays subscribed after its last local subscriber left. Default 10 000. */
  lingerMs?: number
  /** How often each subscribed key's position is compared with Redis, to find a lost last message. Default 30 000; 0: never. */
  positionCheckMs?: number
  /** Start a new epoch when the Redis server changed (restart, failover), because history may have been rolled back. Default true. */
  rotateEpochOnServerChange?: boolean
  /** Live items queued for one subscriber that does not read; past this it gets a `lost` reset. Default 10 000. */
  maxQueuedItems?: number
  /** Background errors (the start-up permission check, subscriber connection, position check, repair). Default: ignored. */
  onError?: (err: Error) => void
}

interface Resolved {
  prefix: string
  maxEvents: number
  maxAgeMs: number
  streamTtlMs: number
  metaTtlMs: number
  idempotencyTtlMs: number
  appendTimeoutMs: number
  readTimeoutMs: number
  readCount: number
  readBytes: number
  lingerMs: number
  positionCheckMs: number
  guard: boolean
  maxQueuedItems: number
  onError: (err: Error) => void
}

const MAX_IDEMPOTENCY_KEY = 256

const REDIS_OPTIONS = [
  'client', 'prefix', 'maxEvents', 'maxAgeMs', 'streamTtlMs', 'metaTtlMs', 'idempotencyTtlMs', 'appendTimeoutMs',
  'readTimeoutMs', 'readCount', 'lingerMs', 'positionCheckMs', 'rotateEpochOnServerChange', 'maxQueuedItems', 'onError'
] as const

const invalid = storeOption('redisStore')

export function redisStore (options: RedisStoreOptions): RedisReplayStore {
  if (options === null || typeof options !== 'object') throw invalid('options must be an object with a client')
  assertKnownOptions(options, REDIS_OPTIONS, invalid)
  const cluster = wrapClusterClient(options.client)
  const resolved = resolve(options)
  if (cluster === undefined) return new RedisStore(wrapClient(options.client), resolved, SINGLE)
  if (resolved.prefix.includes('{')) throw invalid('prefix must not contain "{" on a Redis Cluster: its hash tag would put every stream in one slot')
  return new RedisStore(cluster, resolved, SHARDED)
}

/** How the store's scripts publish: PUBLISH on one node, SPUBLISH (to the stream's shard only) on a cluster. */
interface Publishing { append: Script, read: Script, probe: Script }
const SINGLE: Publishing = { append: appendScript, read: readScript, probe: probeScript }
const SHARDED: Publishing = { append: shardedAppendScript, read: shardedReadScript, probe: shardedProbeScript }

function resolve (o: RedisStoreOptions): Resolved {
  const prefix = o.prefix ?? 'sse:'
  if (typeof prefix !== 'string') throw invalid('prefix must be a string')
  if (o.onError !== undefined && typeof o.onError !== 'function') throw invalid('onError must be a function')
  if (o.rotateEpochOnServerChange !== undefined && typeof o.rotateEpochOnServerChange !== 'boolean') {
    throw invalid('rotateEpochOnServerChange must be a boolean')
  }
  return {
    prefix,
    maxEvents: integerOption(o.maxEvents, 'maxEvents', 1, 1000, invalid),
    maxAgeMs: integerOption(o.maxAgeMs, 'maxAgeMs', 0, 0, invalid),
    streamTtlMs: integerOption(o.streamTtlMs, 'streamTtlMs', 1, 3_600_000, invalid),
    metaTtlMs: integerOption(o.metaTtlMs, 'metaTtlMs', 1, 30 * 24 * 3_600_000, invalid),
    idempotencyTtlMs: integerOption(o.idempotencyTtlMs, 'idempotencyTtlMs', 1, 120_000, invalid),
    appendTimeoutMs: integerOption(o.appendTimeoutMs, 'appendTimeoutMs', 1, 2000, invalid),
    readTimeoutMs: integerOption(o.readTimeoutMs, 'readTimeoutMs', 1, 2000, invalid),
    readCount: integerOption(o.readCount, 'readCount', 1, 1000, invalid),
    readBytes: integerOption(o.readBytes, 'readBytes', 1, 1024 * 1024, invalid),
    lingerMs: integerOption(o.lingerMs, 'lingerMs', 0, 10_000, invalid),
    positionCheckMs: integerOption(o.positionCheckMs, 'positionCheckMs', 0, 30_000, invalid),
    guard: o.rotateEpochOnServerChange ?? true,
    maxQueuedItems: integerOption(o.maxQueuedItems, 'maxQueuedItems', 1, 10_000, invalid),
    onError: o.onError ?? (() => {})
  }
}

function newEpoch (): string {
  return randomBytes(9).toString('base64url') // 12 characters, 72 random bits
}

type Entry = [string, string[]]

function toEvent (epoch: string, entry: Entry): StoredEvent {
  const offset = Number(entry[0].slice(0, entry[0].indexOf('-')))
  const fields = entry[1]
  const event: StoredEvent = { id: formatEventId(epoch, offset), offset, data: '', ts: 0 }
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = String(fields[i])
    const value = String(fields[i + 1])
    if (name === 'd') event.data = value
    else if (name === 't') event.ts = Number(value)
    else if (name === 'e') event.event = value
  }
  return event
}

function isAborted (signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

function abortError (signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('This operation was aborted', 'AbortError')
}

/** Settles with `promise`, or rejects as soon as `signal` aborts (the shared work goes on). */
function abortable<T> (promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise
  if (signal.aborted) return Promise.reject(abortError(signal))
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal))
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

class RedisStore implements RedisReplayStore {
  readonly capabilities = { contiguousOffsets: true, shared: true }
  private closed = false
  private subscriber: SubscriberConnection | undefined
  private readonly tails = new Map<string, KeyTail>()
  private readonly reads = new Map<string, Promise<ReadResult> | Promise<string>>()
  private readonly recentBudget = { used: 0, max: RECENT_BUDGET }
  /**
   * Redis clock minus ours, on the early side, so a script can refuse an append whose caller
   * already gave up. Unknown after every (re)connect (the server may be another one) until
   * measured again; no append is sent meanwhile.
   */
  private clockOffset: number | undefined
  /** Set when Redis refused the clock measurement itself (ACL): appends fail with it at once instead of timing out. */
  private clockRefused: Error | undefined
  private checking: Promise<void> | undefined
  private clockGeneration = 0
  private measuring: Promise<void> | undefined
  private readonly stopReadyListener: () => void
  private positionTimer: NodeJS.Timeout | undefined

  constructor (private readonly redis: CommandConnection, private readonly o: Resolved, private readonly scripts: Publishing) {
    let checked = false
    const startupCheck = (): void => {
      if (checked || this.closed) return
      checked = true
      this.ready().catch((err: Error) => { if (!this.closed) this.o.onError(err) })
    }
    this.stopReadyListener = redis.onReady(() => {
      this.clockOffset = undefined
      this.clockRefused = undefined
      this.clockGeneration++
      this.measuring = undefined
      startupCheck()
    })
    // Checked at start-up, so a missing permission shows in `onError` before the first client
    // or publish meets it. A client not connected yet is checked on its first `ready`.
    if (redis.isReady()) startupCheck()
  }

  ready (): Promise<void> {
    if (this.closed) return Promise.reject(new FST_SSE_STORE_CLOSED())
    this.checking ??= this.check().finally(() => { this.checking = undefined })
    return this.checking
  }

  private async check (): Promise<void> {
    const keys = streamKeys(this.o.prefix, '\u0000probe', this.redis.keyPrefix, this.redis.addsKeyPrefix)
    const what = 'permission check'
    // Everything missing is named at once, so one fix of the ACL is enough.
    const missing = new Set<string>()
    const refusal = (err: unknown): void => {
      if (!isPermissionError(err)) throw wrap(what, err)
      missing.add(permissionOf(what, err as Error))
    }
    // TIME on its own: the store sends it outside any script.
    await this.redis.send(['TIME'], this.o.readTimeoutMs, what).catch(refusal)
    // The key names as the server sees them (ioredis adds its prefix to declared keys only).
    const server = this.redis.addsKeyPrefix ? this.redis.keyPrefix : ''
    const listed = await this.script(this.scripts.probe, [], [this.o.guard ? '1' : '0', keys.channel, server + keys.log, server + keys.meta], this.o.readTimeoutMs, what)
      .catch(refusal)
    if (Array.isArray(listed)) for (const command of listed) missing.add(String(command))
    if (missing.size > 0) throw new FST_SSE_STORE_NOPERM(what, [...missing].join(', '))
  }

  async append (key: StreamKey, input: AppendInput, options: AppendOptions = {}): Promise<StoredEvent> {
    this.assertOpen()
    const keys = this.keys(key)
    if (input === null || typeof input !== 'object' || typeof input.data !== 'string') throw new FST_SSE_INVALID_STORE_ARGUMENT('redisStore append()', 'input must be an object with string data')
    if (input.event !== undefined && typeof input.event !== 'string') throw new FST_SSE_INVALID_STORE_ARGUMENT('redisStore append()', 'input event must be a string')
    const idem = input.idempotencyKey === undefined ? randomUUID() : input.idempotencyKey
    if (typeof idem !== 'string' || idem === '' || idem.length > MAX_IDEMPOTENCY_KEY) {
      throw new FST_SSE_INVALID_STORE_ARGUMENT('redisStore append()', `idempotencyKey must be a non-empty string of at most ${MAX_IDEMPOTENCY_KEY} characters`)
    }
    const signal = options.signal
    if (signal !== undefined && isAborted(signal)) throw abortError(signal)
    const maxEvents = options.retention?.maxEvents ?? this.o.maxEvents
    const timeout = this.o.appendTimeoutMs
    const deadline = Date.now() + timeout
    const event = input.event
    const what = 'append'
    // One round trip normally. A connection lost mid-command is retried with the same
    // idempotency key (node-redis rejects such commands; ioredis resends them itself), so a
    // retry can never create a second event.
    for (let attempt = 0; ; attempt++) {
      let remaining = deadline - Date.now()
      if (remaining <= 0) throw new FST_SSE_STORE_TIMEOUT(what, timeout)
      if (this.clockOffset === undefined) {
        // Every append carries a deadline Redis checks, in every state of the connection: one
        // that arrives after its caller gave up is refused, never stored.
        try {
          await abortable(withTimeout(this.measureClock(), remaining, what), signal)
        } catch (err) {
          if (isAborted(signal)) throw err
          throw new FST_SSE_STORE_TIMEOUT(what, timeout)
        }
        if (this.clockRefused !== undefined) throw this.clockRefused
        remaining = deadline - Date.now()
        if (this.clockOffset === undefined || remaining <= 0) {
          if (Date.now() >= deadline) throw new FST_SSE_STORE_TIMEOUT(what, timeout)
          await sleep(Math.min(50 * 2 ** attempt, 500, Math.max(0, deadline - Date.now())))
          continue
        }
      }
      // Earlier than ours by a margin, so a reply to an append Redis ran just in time has that
      // long to reach us before we report a timeout.
      const serverDeadline = deadline + this.clockOffset - Math.min(250, Math.floor(timeout / 4))
      let reply: unknown
      try {
        reply = await abortable(this.script(this.scripts.append, [keys.log, keys.meta], [
          newEpoch(), this.o.guard ? '1' : '0', String(this.o.metaTtlMs), keys.channel, String(maxEvents),
          String(this.o.streamTtlMs), String(this.o.idempotencyTtlMs), String(serverDeadline),
          event === undefined ? '-' : String(event.length), event ?? '', input.data, idem
        ], remaining, what), signal)
      } catch (err) {
        if (isAborted(signal)) throw err
        if ((err as { code?: string }).code === 'FST_SSE_STORE_TIMEOUT') throw new FST_SSE_STORE_TIMEOUT(what, timeout)
        if ((isReplyError(err) && !isTransient(err)) || Date.now() >= deadline) throw unavailable(what, err)
        await sleep(Math.min(50 * 2 ** attempt, 500, Math.max(0, deadline - Date.now())))
        continue
      }
      const r = reply as string[]
      if (r[0] === 'expired') throw new FST_SSE_STORE_TIMEOUT(what, timeout)
      if (r[0] === 'dup') {
        const [offset, ts] = String(r[2]).split(':') as [string, string]
        return stored(String(r[1]), Number(offset), Number(ts), event, input.data)
      }
      return stored(String(r[1]), Number(r[2]), Number(r[3]), event, input.data)
    }
  }

  async readAfter (key: StreamKey, lastId: string, options: ReadOptions = {}): Promise<ReadResult> {
    this.assertOpen()
    const keys = this.keys(key)
    const limit = options.limit ?? this.o.readCount
    if (!Number.isSafeInteger(limit) || limit < 1) throw new FST_SSE_INVALID_STORE_ARGUMENT('redisStore readAfter()', `limit must be a positive integer, got ${String(limit)}`)
    const position = parseEventId(lastId)
    if (position === undefined) {
      // Hostile or foreign junk never reaches Redis when this instance already knows the head.
      const head = await abortable(this.localHead(key) ?? this.remoteHead(key), options.signal)
      return { status: 'gap', reason: 'malformed', head }
    }
    const count = Math.min(limit, this.o.readCount)
    const maxBytes = options.maxBytes
    if (maxBytes !== undefined && (!Number.isSafeInteger(maxBytes) || maxBytes < 0)) throw new FST_SSE_INVALID_STORE_ARGUMENT('redisStore readAfter()', `maxBytes must be a non-negative integer, got ${String(maxBytes)}`)
    const bytes = Math.min(maxBytes ?? this.o.readBytes, this.o.readBytes)
    const maxAgeMs = options.retention?.maxAgeMs ?? this.o.maxAgeMs
    // A stream subscribed here answers from what it delivered last, without Redis, when the
    // answer cannot differ from the log's: no age limit (only Redis's clock decides those), and
    // no further back than the log is sure to keep (MAXLEN ~ keeps at least maxEvents).
    if (maxAgeMs === 0) {
      const maxEvents = options.retention?.maxEvents ?? this.o.maxEvents
      const local = this.recentRead(keys, position.epoch, position.offset, count, bytes, maxEvents)
      if (local !== undefined) return local
    }
    // Identical reads in flight share one command.
    const id = keys.log + '\n' + lastId + '\n' + count + '\n' + bytes + '\n' + maxAgeMs
    let shared = this.reads.get(id) as Promise<ReadResult> | undefined
    if (shared === undefined) {
      shared = this.read(keys, position.epoch, position.offset, count, bytes, maxAgeMs).finally(() => this.reads.delete(id))
      this.reads.set(id, shared)
      if (maxAgeMs === 0) {
        shared.then((result) => {
          if (result.status === 'ok') this.tails.get(keys.channel)?.learn(result.events)
        }, () => {})
      }
    }
    return abortable(shared, options.signal)
  }

  async head (key: StreamKey): Promise<string> {
    this.assertOpen()
    return this.localHead(key) ?? this.remoteHead(key)
  }

  async subscribe (key: StreamKey, options: { signal?: AbortSignal } = {}): Promise<LiveSubscription> {
    this.assertOpen()
    const keys = this.keys(key)
    let tail = this.tails.get(keys.channel)
    if (tail === undefined) {
      tail = this.openTail(key, keys)
      this.tails.set(keys.channel, tail)
    }
    const current = tail
    const queue = new LiveQueue(this.o.maxQueuedItems, () => {
      const c = current.cursor
      return c === undefined ? '' : formatEventId(c.epoch, c.offset)
    }, (q) => current.detach(q))
    // Counted from the start, so a key being set up is not dropped by a linger timer meanwhile.
    current.attach(queue)
    try {
      await abortable(withTimeout(current.ready, this.o.readTimeoutMs, 'subscribe'), options.signal)
    } catch (err) {
      await queue.close()
      throw wrap('subscribe', err)
    }
    if (this.closed as boolean) queue.end() // closed while subscribing
    return queue
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.positionTimer)
    this.stopReadyListener()
    for (const tail of [...this.tails.values()]) tail.close()
    this.tails.clear()
    const subscriber = this.subscriber
    this.subscriber = undefined
    await subscriber?.close()
  }

  /**
   * The head as Redis has it; concurrent calls for one key share one command, except a
   * `fresh` one: positioning a new subscription needs a head read after it was confirmed, not
   * one sent before and still in flight.
   */
  private async remoteHead (key: StreamKey, fresh = false): Promise<string> {
    const keys = this.keys(key)
    const id = keys.log + '\nhead'
    const shared = fresh ? undefined : this.reads.get(id) as Promise<string> | undefined
    if (shared !== undefined) return shared
    const read: Promise<string> = this.script(this.scripts.read, [keys.log, keys.meta], this.readArgs(keys, '', 0, 0, 0, 0), this.o.readTimeoutMs, 'head')
      .then((reply) => String((reply as string[])[1]), (err) => { throw wrap('head', err) })
      .finally(() => { if (this.reads.get(id) === read) this.reads.delete(id) })
    this.reads.set(id, read)
    return read
  }

  private recentRead (keys: StreamKeys, epoch: string, offset: number, count: number, bytes: number, maxEvents: number): ReadResult | undefined {
    const tail = this.tails.get(keys.channel)
    const cursor = tail?.cursor
    if (tail === undefined || cursor === undefined || cursor.offset - offset > maxEvents) return undefined
    const events = tail.recentAfter(epoch, offset, count, bytes)
    if (events === undefined) return undefined
    const last = events.length === 0 ? offset : (events[events.length - 1] as StoredEvent).offset
    return { status: 'ok', events, head: formatEventId(cursor.epoch, cursor.offset), complete: last === cursor.offset }
  }

  /**
   * Answers from this instance's live cursor when the key is subscribed here: no Redis call.
   * It may trail Redis by messages in flight, but everything after it is still delivered
   * live (or a reset is), which is all a caller positioning a connection needs.
   */
  private localHead (key: StreamKey): Promise<string> | undefined {
    const cursor = this.tails.get(this.keys(key).channel)?.cursor
    return cursor === undefined ? undefined : Promise.resolve(formatEventId(cursor.epoch, cursor.offset))
  }

  private async read (keys: StreamKeys, epoch: string, offset: number, count: number, bytes: number, maxAgeMs: number): Promise<ReadResult> {
    let reply: unknown[]
    try {
      reply = await this.script(this.scripts.read, [keys.log, keys.meta], this.readArgs(keys, epoch, offset, count, bytes, maxAgeMs), this.o.readTimeoutMs, 'readAfter') as unknown[]
    } catch (err) {
      throw wrap('readAfter', err)
    }
    const head = String(reply[1])
    if (reply[0] === 'gap') return { status: 'gap', reason: String(reply[1]) as 'epoch', head: String(reply[2]) }
    const top = splitEventId(head).offset
    const entries = (reply[2] ?? []) as Entry[]
    const events = entries.map((entry) => toEvent(epoch, entry))
    const last = events.length === 0 ? offset : (events[events.length - 1] as StoredEvent).offset
    return { status: 'ok', events, head, complete: last === top }
  }

  private readArgs (keys: StreamKeys, epoch: string, offset: number, count: number, bytes: number, maxAgeMs: number): string[] {
    return [newEpoch(), this.o.guard ? '1' : '0', String(this.o.metaTtlMs), keys.channel,
      epoch, String(offset + 1), String(offset), String(count), String(maxAgeMs), String(bytes)]
  }

  /** EVALSHA, and EVAL once when the server does not know the script (first use, restart). */
  private async script (script: Script, keys: string[], args: string[], timeoutMs: number, what: string): Promise<unknown> {
    const started = Date.now()
    try {
      return await this.redis.send(['EVALSHA', script.sha, String(keys.length), ...keys, ...args], timeoutMs, what)
    } catch (err) {
      if (!isReplyError(err) || !String((err as Error).message).startsWith('NOSCRIPT')) throw err
      return this.redis.send(['EVAL', script.source, String(keys.length), ...keys, ...args], timeoutMs - (Date.now() - started), what)
    }
  }

  private openTail (key: StreamKey, keys: StreamKeys): KeyTail {
    const tail: KeyTail = new KeyTail({
      readAfter: async (epoch, offset) => this.read(keys, epoch, offset, this.o.readCount, this.o.readBytes, this.o.maxAgeMs),
      head: async () => this.remoteHead(key, true),
      subscribe: async () => {
        const subscriber = this.openSubscriber()
        await subscriber.ready()
        await subscriber.subscribe(keys.channel)
      },
      unsubscribe: () => {
        if (this.tails.get(keys.channel) === tail) this.tails.delete(keys.channel)
        this.subscriber?.unsubscribe(keys.channel).catch(this.o.onError)
      },
      lingerMs: this.o.lingerMs,
      maxQueuedItems: this.o.maxQueuedItems,
      maxBufferedFrames: this.o.maxQueuedItems,
      recentEvents: this.o.readCount,
      recentBytes: RECENT_BYTES,
      recentBudget: this.recentBudget,
      onError: this.o.onError
    }, (closed) => {
      if (this.tails.get(keys.channel) === closed) this.tails.delete(keys.channel)
    })
    // A key that could not be set up is forgotten, so the next subscribe tries afresh.
    tail.ready.catch(() => tail.close())
    return tail
  }

  private openSubscriber (): SubscriberConnection {
    if (this.subscriber !== undefined) return this.subscriber
    const subscriber = this.redis.openSubscriber((err) => this.o.onError(err))
    subscriber.onMessage((name, message) => {
      const frame = parseFrame(message)
      if (frame !== undefined) this.tails.get(name)?.receive(frame)
    })
    // Messages published while the connection was down are gone: catch every key up from its log.
    // On a cluster, only the channels whose shard subscription was made again.
    subscriber.onReconnect((channels) => {
      if (channels === undefined) {
        for (const tail of this.tails.values()) tail.resync()
      } else {
        for (const channel of channels) this.tails.get(channel)?.resync()
      }
    })
    if (this.o.positionCheckMs > 0) {
      this.positionTimer = setInterval(() => { this.checkPositions().catch((err: unknown) => this.o.onError(err as Error)) }, this.o.positionCheckMs)
      this.positionTimer.unref()
    }
    this.subscriber = subscriber
    return subscriber
  }

  /** Finds a lost last message: nothing follows it, so no hole would ever show. */
  private async checkPositions (): Promise<void> {
    await Promise.all([...this.tails].map(async ([name, tail]) => {
      if (tail.cursor === undefined) return
      try {
        // The channel carries the client's key prefix, which that client adds to keys itself.
        const unprefixed = this.redis.addsKeyPrefix ? name.slice(this.redis.keyPrefix.length) : name
        const meta = unprefixed.slice(0, -'ch'.length) + 'meta'
        const [epoch, top] = await this.redis.send(['HMGET', meta, 'ep', 'top'], this.o.readTimeoutMs, 'position check') as [string | null, string | null]
        if (tail.behind(epoch === null ? null : String(epoch), Number(top ?? 0))) tail.resync()
      } catch (err) {
        // A check still in flight when the store closed fails with its connection: not news.
        if (!this.closed) this.o.onError(err as Error)
      }
    }))
  }

  /** One TIME round trip shared by every append waiting for it. */
  private measureClock (): Promise<void> {
    this.measuring ??= this.timeOnce().finally(() => { this.measuring = undefined })
    return this.measuring
  }

  private async timeOnce (): Promise<void> {
    const generation = this.clockGeneration
    // A refusal holds until the next measurement: the ACL may have been fixed since.
    this.clockRefused = undefined
    try {
      const before = Date.now()
      const [seconds, micros] = await this.redis.send(['TIME'], this.o.readTimeoutMs, 'clock') as [string, string]
      const after = Date.now()
      // A reply from before a reconnect may be another server's clock. A slow round trip
      // leaves too wide an error: measure again on the next append.
      if (generation !== this.clockGeneration || after - before > this.o.appendTimeoutMs / 2) return
      // The server read its clock somewhere between `before` and `after`; assuming `after`
      // puts every deadline early, never late.
      this.clockOffset = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - after
    } catch (err) {
      // Anything else is about the connection: measured again on the next append.
      if (isPermissionError(err) && generation === this.clockGeneration) this.clockRefused = unavailable('append', err)
    }
  }

  private keys (key: StreamKey): StreamKeys {
    if (typeof key !== 'string' || key === '') throw new FST_SSE_INVALID_KEY(`expected a non-empty string, got ${typeof key === 'string' ? '""' : typeof key}`)
    return streamKeys(this.o.prefix, key, this.redis.keyPrefix, this.redis.addsKeyPrefix)
  }

  private assertOpen (): void {
    if (this.closed) throw new FST_SSE_STORE_CLOSED()
  }
}

function stored (epoch: string, offset: number, ts: number, event: string | undefined, data: string): StoredEvent {
  const result: StoredEvent = { id: formatEventId(epoch, offset), offset, data, ts }
  if (event !== undefined) result.event = event
  return result
}

/**
 * A cluster's answers while a failover or a slot migration is under way: the same append (same
 * idempotency key) is tried again within its deadline.
 */
function isTransient (err: unknown): boolean {
  const message = String((err as Error | undefined)?.message)
  return message.startsWith('CLUSTERDOWN') || message.startsWith('TRYAGAIN')
}

/** A reply error or a failed connection as a coded error; a refusal by the ACL as FST_SSE_STORE_NOPERM. */
function unavailable (what: string, err: unknown): Error {
  const error = isPermissionError(err)
    ? new FST_SSE_STORE_NOPERM(what, permissionOf(what, err as Error))
    : new FST_SSE_STORE_UNAVAILABLE(what, (err as Error)?.message ?? String(err))
  ;(error as Error).cause = err
  return error
}

function wrap (what: string, err: unknown): Error {
  const code = (err as { code?: unknown } | undefined)?.code
  if (typeof code === 'string' && code.startsWith('FST_SSE_')) return err as Error
  if ((err as Error | undefined)?.name === 'AbortError') return err as Error
  return unavailable(what, err)
}

/** What Redis refused, from its reply: `NOPERM the Redis user may not run XADD …` (our scripts), `… run the 'time' command` (Redis). */
function permissionOf (what: string, err: Error): string {
  const message = String(err.message)
  const ours = /^NOPERM the Redis user may not run (\S+)/.exec(message)
  if (ours !== null) return ours[1] as string
  if (message.includes('keys used as arguments')) return 'commands on its keys (read and write, under its prefix)'
  const theirs = /'([^']+)' command/.exec(message)
  if (theirs !== null) return (theirs[1] as string).toUpperCase()
  if (message.includes('channel')) return (what === 'subscribe' ? 'SUBSCRIBE' : 'PUBLISH') + ' on its channels'
  return 'a command it sends (' + message + ')'
}

function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
