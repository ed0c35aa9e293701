import type { FastifyBaseLogger } from 'fastify'
import { logSafely } from '../safe-log.js'
import { encodeFrame, idOnlyFrame } from '../encode.js'
import { epochOf } from '../event-id.js'
import type { Counters } from './metrics.js'
import type { LiveItem, LiveSubscription, ReplayStore, StoredEvent, StreamKey } from '../stores/types.js'
import type { Topic } from './topics.js'

/** What a feed delivers to: one connection on a replay stream. */
export interface FeedListener {
  /** A live event, with its epoch and its frame (shared by every listener of the feed). */
  onLive: (item: LiveItem & { type: 'event' }, epoch: string, chunk: string) => void
  /** The store says everyone on this key must resync. */
  onStoreReset: (item: LiveItem & { type: 'reset' }) => void
  /** The feed is gone: the listener ends its response so the client reconnects and resumes. */
  disconnect: () => void
}

/** What a feed needs from the hub that made it. */
interface FeedHost {
  readonly store: ReplayStore
  readonly counters: Counters
  readonly log: FastifyBaseLogger
  /** The feed failed or ended: later listeners of its key get a fresh one. */
  forget: (feed: Feed) => void
}

/**
 * Live delivery for one plugin instance: per stream key, one store subscription shared by
 * every local subscriber of that key. Each event is framed once and the same string is
 * pushed to every subscriber; pushes never wait, so a slow subscriber is evicted by its own
 * connection's bound and never delays the others.
 */
export class Hub implements FeedHost {
  readonly feeds = new Map<StreamKey, Feed>()
  /** Listeners that are live (positioned), as they report it with {@link countLive}. */
  subscribers = 0

  constructor (
    readonly store: ReplayStore,
    readonly counters: Counters,
    readonly log: FastifyBaseLogger
  ) {}

  /** Adds a listener to its key's feed; the feed's `ready` settles once the store subscription is attached. */
  attach (key: StreamKey, topic: Topic, listener: FeedListener): Feed {
    let feed = this.feeds.get(key)
    if (feed === undefined) {
      feed = new Feed(this, key, topic)
      this.feeds.set(key, feed)
    }
    feed.listeners.add(listener)
    return feed
  }

  /** A listener attached with {@link attach} is positioned and live: counted until it detaches. */
  countLive (): void {
    this.subscribers++
  }

  /** Removes a listener (`live`: it was counted); the last one out closes the key's store subscription. */
  detach (feed: Feed, listener: FeedListener, live: boolean): void {
    if (feed.listeners.delete(listener) && live) this.subscribers--
    if (feed.listeners.size === 0) {
      this.forget(feed)
      feed.close()
    }
  }

  forget (feed: Feed): void {
    if (this.feeds.get(feed.key) === feed) this.feeds.delete(feed.key)
  }

  /** Closes every store subscription (subscribers were ended by then). */
  async close (): Promise<void> {
    const feeds = [...this.feeds.values()]
    this.feeds.clear()
    await Promise.all(feeds.map((feed) => feed.close()))
  }
}

/** The local end of one store subscription. */
export class Feed {
  readonly listeners = new Set<FeedListener>()
  readonly ready: Promise<void>
  private live: LiveSubscription | null = null
  private closed = false
  // The event being delivered and what is derived from it on demand, shared by every subscriber.
  private current: StoredEvent | null = null
  private currentIdOnly: string | null = null
  private currentView: EventView | null = null
  private currentLabel: string | null = null
  private currentLabelled = ''
  /**
   * What the listeners of a many-topic stream derive from the current event and share (the
   * frame with its cursor, for every connection whose cursor is the same); cleared with each event.
   */
  shared: object | null = null
  private epoch = ''

  constructor (private readonly host: FeedHost, readonly key: StreamKey, readonly topic: Topic) {
    this.ready = this.open()
    // Subscribers await `ready` themselves; this only keeps a failure nobody awaits any more from going unhandled.
    this.ready.catch(ignore)
  }

  private async open (): Promise<void> {
    let live: LiveSubscription
    try {
      live = await this.host.store.subscribe(this.key)
    } catch (err) {
      // Later subscribers of this key start a fresh attempt instead of sharing this failure.
      this.host.forget(this)
      throw err
    }
    if (this.closed) {
      live.close().catch((err: unknown) => logSafely(this.host.log, 'warn', { err, key: this.key }, 'closing a replay store subscription failed'))
      return
    }
    this.live = live
    this.run(live).catch(ignore)
  }

  private async run (live: LiveSubscription): Promise<void> {
    let failure: unknown
    try {
      for await (const item of live) {
        if (this.closed) break
        this.deliver(item)
      }
    } catch (err) {
      failure = err
    }
    if (this.closed) return
    // The store ended or broke the subscription while clients still listen: they reconnect
    // and resume from their last id, which re-attaches a fresh subscription.
    if (failure !== undefined) {
      this.host.counters.storeErrors++
      logSafely(this.host.log, 'error', { err: failure, key: this.key }, 'replay store subscription failed; disconnecting its subscribers')
    }
    this.host.forget(this)
    this.closed = true
    for (const listener of this.listeners) listener.disconnect()
  }

  deliver (item: LiveItem): void {
    if (item.type === 'reset') {
      for (const listener of this.listeners) listener.onStoreReset(item)
      return
    }
    const event = item.event
    let chunk: string
    try {
      chunk = encodeFrame({ event: event.event, id: event.id }, event.data)
    } catch (err) {
      // Only a store handing back what publish() never accepts gets here.
      logSafely(this.host.log, 'error', { err, key: this.key, id: event.id }, 'replay store returned an event that cannot be framed; skipped')
      return
    }
    this.current = event
    this.currentIdOnly = null
    this.currentView = null
    this.currentLabel = null
    this.shared = null
    const epoch = epochOf(event.id)
    for (const listener of this.listeners) listener.onLive(item, epoch, chunk)
    this.current = null
    this.shared = null
  }

  /** The feed's copy of an epoch string, so listeners share one. */
  intern (epoch: string): string {
    if (epoch !== this.epoch) this.epoch = epoch
    return this.epoch
  }

  /** `id: <id>` alone: moves a client's cursor past an event it does not receive. */
  idOnly (event: StoredEvent): string {
    if (event !== this.current) return idOnlyFrame(event.id)
    return (this.currentIdOnly ??= idOnlyFrame(event.id))
  }

  /**
   * The frame of an event on a many-topic stream, up to its `id:` line (which each connection
   * writes itself): `event: <label>.<name>` and the data lines, made once per event and label.
   */
  labelled (event: StoredEvent, label: string): string {
    if (event === this.current && label === this.currentLabel) return this.currentLabelled
    // `label` has no line breaks, and `event.event` passed the framing checks when it was published.
    const frame = encodeFrame({ event: label + '.' + (event.event ?? 'message') }, event.data)
    const head = frame.slice(0, -1)
    if (event === this.current) {
      this.currentLabel = label
      this.currentLabelled = head
    }
    return head
  }

  /** What a filter sees; one per event, so data is parsed once however many listeners filter it. */
  view (event: StoredEvent): EventView {
    if (event !== this.current) return new EventView(event)
    return (this.currentView ??= new EventView(event))
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    const live = this.live
    this.live = null
    if (live === null) return
    try {
      await live.close()
    } catch (err) {
      logSafely(this.host.log, 'warn', { err, key: this.key }, 'closing a replay store subscription failed')
    }
  }
}

/** A stored event as filters see it. */
export class EventView {
  private parsed: unknown
  private isParsed = false

  constructor (private readonly stored: StoredEvent) {}

  get id (): string {
    return this.stored.id
  }

  get event (): string | undefined {
    return this.stored.event
  }

  get text (): string {
    return this.stored.data
  }

  get data (): unknown {
    if (!this.isParsed) {
      this.isParsed = true
      try {
        this.parsed = JSON.parse(this.stored.data)
      } catch {
        this.parsed = this.stored.data
      }
    }
    return this.parsed
  }
}

function ignore (): void {}
