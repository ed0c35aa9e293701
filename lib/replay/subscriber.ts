import type { FastifyBaseLogger, FastifyReply } from 'fastify'
import type { Connection, EndListener } from '../connection.js'
import { logSafely } from '../safe-log.js'
import { encodeFrame, idOnlyFrame, type SseItem } from '../encode.js'
import type { Topic, FilterEvent, ResetContext, SubscribeOptions } from './topics.js'
import { FST_SSE_STORE_MALFORMED } from '../errors.js'
import { epochOf, formatEventId, parseEventId } from '../event-id.js'
import { diagnostics } from '../diagnostics.js'
import { assertKnownOptions, subscribeOption } from '../option-checks.js'
import { EventView, type Feed, type FeedListener, type Hub } from './hub.js'
import type { LastEventIdResult } from '../last-event-id.js'
import type { Counters, ResetReason } from './metrics.js'
import { assertSize } from '../size.js'
import type { LiveItem, ReadResult, ReplayStore, StoredEvent, StreamKey } from '../stores/types.js'

type Filter = (event: FilterEvent) => boolean
type ResetHook = NonNullable<SubscribeOptions['onReset']>

/** What every subscriber of one plugin instance shares: one object, passed to each. */
export interface SubscriberDeps {
  readonly hub: Hub
  readonly store: ReplayStore
  readonly counters: Counters
  readonly log: FastifyBaseLogger
  /** Bound on live items held for one subscriber while it is being positioned, and on each replay page. */
  readonly maxBufferedBytes: number
  /** The `retry:` block sent before a subscriber the store failed is disconnected. */
  readonly failFrame: () => string
}

/** What only some subscribers use, in one object so the others pay one field for it. */
export interface SubscriberExtras {
  filter: Filter | null
  onReset: ResetHook | null
  // Kept only when onReset needs it: an idle subscriber should not hold its request alive.
  reply: FastifyReply | null
}

// Events per replay read; each read is also bounded by maxBufferedBytes.
const PAGE_EVENTS = 256

/** Checks subscribe() options up front, so a mistake is an HTTP error before any byte is sent. */
export function checkSubscribeOptions (options: SubscribeOptions | undefined): void {
  if (options === undefined) return
  if (options === null || typeof options !== 'object') throw subscribeOption('options must be an object')
  assertKnownOptions(options, ['filter', 'onReset'], subscribeOption)
  if (options.filter !== undefined && typeof options.filter !== 'function') throw subscribeOption('filter must be a function')
  if (options.onReset !== undefined && typeof options.onReset !== 'function') throw subscribeOption('onReset must be a function')
}

/**
 * One connection on a replay stream. It is attached to its key's live feed before the store
 * is read, so nothing published meanwhile is missed; live items wait in `pending` while the
 * connection is positioned (replay, reset notice, onReset hook) or repairs a hole, and are
 * then merged by offset: at or below the cursor is a duplicate, the next offset is written,
 * anything else makes the store fill the hole or answer with a reset.
 *
 * Fields only, no closures: an idle subscriber costs this object and one set entry.
 */
export class Subscriber implements EndListener, FeedListener {
  /** The key's live feed, from start() until the connection ends. */
  protected feed: Feed | null = null
  /** Offset of the last event this connection accounted for (sent, or filtered out). */
  protected lastSent = 0
  protected epoch = ''
  protected pending: LiveItem[] | null = []
  private pendingBytes = 0
  /** Counted in the hub's subscribers: only once live, so metrics never count a client still being positioned. */
  protected counted = false

  constructor (
    protected readonly conn: Connection,
    protected readonly deps: SubscriberDeps,
    private readonly extras: SubscriberExtras | null
  ) {}

  /**
   * Attaches, positions the connection from the client's cursor, then goes live. Never rejects.
   * `head` is the stream's head read when the request was accepted: the start of a client
   * without a cursor, which then gets every event after it.
   */
  async start (topic: Topic, key: StreamKey, cursor: LastEventIdResult, head: Promise<string> | null): Promise<void> {
    const { conn, deps } = this
    const { store } = deps
    try {
      const feed = (this.feed = deps.hub.attach(key, topic, this))
      await feed.ready
      if (conn.closed) return
      if (cursor.status === 'absent') {
        const start = await (head ?? store.head(key))
        if (conn.closed) return
        this.moveTo(start)
        // An id-only block sets the client's last event id without firing an event, so even a
        // reconnect before the first event resumes instead of starting over.
        conn.write(idOnlyFrame(start), false)
        // Whatever was published between accepting the request and the subscription going live
        // is in the store, after that head. Live delivery covers everything after the current
        // head, so the store is read only when the two differ.
        const current = await store.head(key)
        if (conn.closed) return
        if (current !== start) await this.catchUp(null)
      } else {
        const sent = cursor.status === 'ok' ? cursor.value : null
        // A malformed cursor never reaches the store: only the head is read, to move the client to it.
        if (sent === null || parseEventId(sent) === undefined) {
          const current = await store.head(key)
          if (conn.closed) return
          await this.reset('malformed', current, sent)
        } else {
          this.moveTo(sent)
          await this.catchUp(sent)
        }
      }
    } catch (err) {
      this.fail(err)
      return
    }
    this.goLive()
  }

  /** Writes what waited, and counts this subscriber as live. */
  protected goLive (): void {
    this.settle()
    if (!this.conn.closed && this.feed !== null && !this.counted) {
      this.counted = true
      this.deps.hub.countLive()
    }
  }

  /** A live item from the feed. */
  onLive (item: LiveItem & { type: 'event' }, epoch: string, chunk: string): void {
    if (this.pending !== null) {
      this.hold(item)
      return
    }
    this.accept(item, epoch, chunk)
  }

  /** The store says everyone on this key must resync. */
  onStoreReset (item: LiveItem & { type: 'reset' }): void {
    if (this.pending !== null) {
      this.hold(item)
      return
    }
    this.pending = []
    this.resetThenSettle(item.reason, item.head).catch((err: unknown) => this.fail(err))
  }

  /** The feed is gone: end the response so the client reconnects and resumes. */
  disconnect (): void {
    this.conn.end('error')
  }

  /** The connection ended, for whatever reason (the registry has its own listener). */
  connectionEnded (conn: Connection): void {
    const feed = this.feed
    if (feed !== null) countEviction(this.deps.counters, conn, feed.key)
    this.detach()
  }

  /** Leaves the feed: the connection is over. */
  protected detach (): void {
    this.pending = null
    const feed = this.feed
    if (feed === null) return
    this.feed = null
    this.deps.hub.detach(feed, this, this.counted)
  }

  // The feed is set from start() until the connection ends, which is when this is used.
  protected get topic (): Topic {
    return (this.feed as Feed).topic
  }

  private accept (item: LiveItem & { type: 'event' }, epoch: string, chunk: string | undefined): void {
    const event = item.event
    const offset = event.offset
    if (epoch === this.epoch) {
      if (offset <= this.lastSent) return
      if (offset === this.lastSent + 1) {
        this.lastSent = offset
        this.send(event, chunk, true)
        return
      }
    }
    // A hole, or another epoch: the store decides between filling it and a reset.
    this.pending = []
    this.hold(item)
    this.repair().catch((err: unknown) => this.fail(err))
  }

  private async repair (): Promise<void> {
    if (this.feed === null) return
    await this.inTurn(() => this.catchUp(null))
    this.settle()
  }

  /** Runs a replay; a connection carrying several subscribers runs one at a time, so one page is held at once. */
  protected inTurn (replay: () => Promise<void>): Promise<void> {
    return replay()
  }

  private async resetThenSettle (reason: ResetReason, head: string): Promise<void> {
    await this.reset(reason, head, null)
    this.settle()
  }

  /** Writes the live items that waited, in order, with the usual duplicate and hole rules. */
  protected settle (): void {
    const items = this.pending
    this.pending = null
    this.released(this.pendingBytes)
    this.pendingBytes = 0
    if (items === null || this.conn.closed) return
    for (const item of items) {
      if (this.pending !== null) {
        // A hole or a reset among them started another round: the rest waits for it.
        (this.pending as LiveItem[]).push(item)
      } else if (item.type === 'event') {
        this.accept(item, epochOf(item.event.id), undefined)
      } else {
        this.pending = []
        this.resetThenSettle(item.reason, item.head).catch((err: unknown) => this.fail(err))
      }
    }
  }

  private hold (item: LiveItem): void {
    const pending = this.pending as LiveItem[]
    pending.push(item)
    if (item.type !== 'event') return
    const bytes = item.event.data.length
    this.pendingBytes += bytes
    // A client that cannot be positioned before this much piles up reconnects instead.
    if (this.held(bytes) > this.deps.maxBufferedBytes) this.conn.destroy('overflow')
  }

  /** Bytes of live items waiting on this connection, after `bytes` more. */
  protected held (bytes: number): number {
    return this.pendingBytes
  }

  /** Live items of `bytes` stopped waiting. */
  protected released (bytes: number): void {}

  /**
   * Writes the stored events after the cursor, page by page, each page bounded in count and
   * bytes and read only once the client took the previous one: a client far behind costs one
   * page and maxBufferedBytes, not its whole backlog. Ends at the head, or in a reset notice
   * when the cursor cannot be served (too far behind, trimmed, another epoch, or a store that
   * fails mid-replay), so a client is never sent back to retry the same read forever.
   * `reported` is the client's own cursor for a resume, null when positioning from a head or
   * repairing a hole.
   */
  protected async catchUp (reported: string | null): Promise<void> {
    const { conn } = this
    const feed = this.feed as Feed
    const { key } = feed
    const { store, counters, log } = this.deps
    const { maxReplay, retention } = feed.topic
    const maxBytes = this.deps.maxBufferedBytes
    const options = { limit: Math.min(maxReplay, PAGE_EVENTS), maxBytes, retention }
    const from = this.lastSent
    let skipped: StoredEvent | null = null
    let written = 0
    for (let first = true; ; first = false) {
      let result: ReadResult
      try {
        result = await store.readAfter(key, formatEventId(this.epoch, this.lastSent), options)
      } catch (err) {
        if (conn.closed || this.feed === null) return
        counters.storeErrors++
        logSafely(log, 'error', { err, key }, 'replay store read failed mid-replay; the client gets a reset notice')
        const head = await store.head(key)
        if (conn.closed) return
        await this.reset('lost', head, reported)
        return
      }
      if (conn.closed) return
      if (result.status === 'gap') {
        await this.reset(result.reason, result.head, reported)
        return
      }
      if (first) {
        const top = parseEventId(result.head)
        if (top !== undefined && top.epoch === this.epoch && top.offset - from > maxReplay) {
          await this.reset('limit', result.head, reported)
          return
        }
        if (reported !== null) counters.replays++
      }
      for (const event of result.events) {
        // Never a wrong replay, whatever the store does: offsets must follow the cursor exactly.
        if (event.offset !== this.lastSent + 1 || epochOf(event.id) !== this.epoch) {
          await this.reset('lost', result.head, reported)
          return
        }
        this.lastSent = event.offset
        written++
        if (this.send(event, undefined, false)) skipped = null
        else skipped = event
        if (conn.queued >= maxBytes && !conn.flush()) {
          await conn.whenWritable()
          if (conn.closed) return
        }
      }
      counters.replayedEvents += result.events.length
      if (result.complete) break
      if (result.events.length === 0) {
        // A store that says there is more but returns nothing would loop forever.
        await this.reset('lost', result.head, reported)
        return
      }
    }
    if (skipped !== null) conn.write(this.idOnlyOf(skipped), false)
    // Live items wait for the client to take the replay, so they do not overflow its queue.
    if (written > 0 && !conn.flush()) await conn.whenWritable()
    if (diagnostics.replay.hasSubscribers && written > 0) diagnostics.replay.publish({ key: this.feed?.key, events: written })
  }

  /** Writes one event if the filter lets it through; false when it was filtered out. */
  private send (event: StoredEvent, chunk: string | undefined, live: boolean): boolean {
    const { conn } = this
    const filter = this.extras?.filter ?? null
    if (filter !== null && !this.accepts(filter, event)) {
      if (live) conn.push(this.idOnlyOf(event))
      return false
    }
    const frame = this.frameOf(event, chunk)
    if (live) conn.push(frame)
    else conn.write(frame)
    return true
  }

  /** The frame of an event; `chunk` is the feed's, shared by every single-stream subscriber. */
  protected frameOf (event: StoredEvent, chunk: string | undefined): string {
    return chunk ?? encodeFrame({ event: event.event, id: event.id }, event.data)
  }

  /** The frame that moves the client past an event it does not receive. */
  protected idOnlyOf (event: StoredEvent): string {
    return this.feed?.idOnly(event) ?? idOnlyFrame(event.id)
  }

  /** The reset notice's frame; the subscriber has moved to `head`. */
  protected resetFrame (head: string, data: string): string {
    return encodeFrame({ event: this.topic.resetEvent, id: head }, data)
  }

  /** The event name of an item sent by an onReset hook. */
  protected snapshotEvent (event: string | undefined): string | undefined {
    return event
  }

  private accepts (filter: Filter, event: StoredEvent): boolean {
    const view = this.feed?.view(event) ?? new EventView(event)
    try {
      return filter(view as unknown as FilterEvent) === true
    } catch (err) {
      logSafely(this.deps.log, 'error', { err, key: this.feed?.key, id: event.id }, 'subscribe filter threw; event not sent to this connection')
      return false
    }
  }

  /** The reset notice, then the application's onReset hook while live items wait. */
  protected async reset (reason: ResetReason, head: string, lastEventId: string | null): Promise<void> {
    this.notify(reason, head, lastEventId)
    await this.afterReset(reason, head, lastEventId)
  }

  /** Writes the reset notice and moves to `head`. */
  protected notify (reason: ResetReason, head: string, lastEventId: string | null): void {
    this.deps.counters.resets[reason]++
    if (diagnostics.reset.hasSubscribers) diagnostics.reset.publish({ key: this.feed?.key, reason })
    this.moveTo(head)
    const data = JSON.stringify({ reason, lastEventId, head })
    this.conn.write(this.resetFrame(head, data))
  }

  /** The application's onReset hook, after a notice. */
  protected async afterReset (reason: ResetReason, head: string, lastEventId: string | null): Promise<void> {
    const hook = this.extras?.onReset ?? null
    const reply = this.extras?.reply ?? null
    if (hook === null || reply === null) return
    const context: ResetContext = {
      reason,
      lastEventId,
      head,
      request: reply.request,
      reply,
      send: (item) => this.sendSnapshot(item as SseItem)
    }
    try {
      await hook(context)
    } catch (err) {
      logSafely(reply.log, 'error', { err }, 'onReset hook failed; live events resume without its snapshot')
    }
  }

  private sendSnapshot (item: SseItem): boolean {
    if (this.conn.closed) return false
    const { event, data } = this.topic.prepare(item)
    const frame = encodeFrame({ event: this.snapshotEvent(event) }, data)
    assertSize(frame, this.deps.maxBufferedBytes)
    return this.conn.push(frame)
  }

  protected moveTo (id: string): void {
    const position = parseEventId(id)
    // A custom store's head can be anything: shown by type unless it is a string, and cut short.
    if (position === undefined) throw new FST_SSE_STORE_MALFORMED('head() or readAfter()', typeof id === 'string' ? JSON.stringify(id.slice(0, 64)) : typeof id)
    // Shared with the feed's copy: one string per epoch, not one per subscriber.
    this.epoch = this.feed?.intern(position.epoch) ?? position.epoch
    this.lastSent = position.offset
  }

  /** A store failure while serving this client: it is disconnected and resumes on reconnect. */
  protected fail (err: unknown): void {
    if (this.conn.closed || this.feed === null) return
    this.deps.counters.storeErrors++
    logSafely(this.deps.log, 'error', { err, key: this.feed?.key }, 'replay store failed while serving a subscriber; disconnecting it')
    this.conn.end('error', this.deps.failFrame())
  }
}

/** A connection that ended for not reading: counted once, whatever it carried. */
export function countEviction (counters: Counters, conn: Connection, key: StreamKey): void {
  if (conn.reason !== 'overflow' && conn.reason !== 'stalled' && conn.reason !== 'budget') return
  counters.evictions++
  if (diagnostics.evict.hasSubscribers) diagnostics.evict.publish({ key, reason: conn.reason })
}
