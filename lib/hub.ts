import type { FastifyBaseLogger } from 'fastify'
import { encodeFrame } from './encode.js'
import type { Counters } from './metrics.js'
import type { Registry } from './registry.js'
import type { LiveItem, LiveSubscription, ReplayStore, StoredEvent, StreamKey } from './stores/types.js'
import type { Subscriber } from './subscriber.js'
import type { ChannelDef } from './channels.js'

/**
 * Live delivery for one plugin instance: per stream key, one store subscription shared by
 * every local subscriber of that key. Each event is framed once and the same string is
 * pushed to every subscriber; pushes never wait, so a slow subscriber is evicted by its own
 * connection's bound and never delays the others.
 */
export class Hub {
  readonly feeds = new Map<StreamKey, Feed>()
  /** Subscribers that are live (positioned); counted by the subscriber itself once it is. */
  subscribers = 0

  constructor (
    readonly store: ReplayStore,
    readonly registry: Registry,
    readonly counters: Counters,
    readonly log: FastifyBaseLogger,
    /** Bound on live items held for one subscriber while it is being positioned, and on each replay page. */
    readonly maxBufferedBytes: number
  ) {}

  /** Adds a subscriber to its key's feed; resolves once the store subscription is attached. */
  attach (key: StreamKey, channel: ChannelDef, subscriber: Subscriber): Promise<void> {
    let feed = this.feeds.get(key)
    if (feed === undefined) {
      feed = new Feed(this, key, channel)
      this.feeds.set(key, feed)
    }
    feed.subscribers.add(subscriber)
    subscriber.feed = feed
    return feed.ready
  }

  /** Removes a subscriber; the last one out closes the key's store subscription. */
  detach (subscriber: Subscriber): void {
    const feed = subscriber.feed
    if (feed === null) return
    subscriber.feed = null
    if (feed.subscribers.delete(subscriber) && subscriber.counted) this.subscribers--
    if (feed.subscribers.size === 0) {
      if (this.feeds.get(feed.key) === feed) this.feeds.delete(feed.key)
      feed.close()
    }
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
  readonly subscribers = new Set<Subscriber>()
  readonly ready: Promise<void>
  private live: LiveSubscription | null = null
  private closed = false
  // The event being delivered and what is derived from it on demand, shared by every subscriber.
  private current: StoredEvent | null = null
  private currentIdOnly: string | null = null
  private currentView: EventView | null = null
  private epoch = ''

  constructor (readonly hub: Hub, readonly key: StreamKey, readonly channel: ChannelDef) {
    this.ready = this.open()
    // Subscribers await `ready` themselves; this only keeps a failure nobody awaits any more from going unhandled.
    this.ready.catch(ignore)
  }

  private async open (): Promise<void> {
    let live: LiveSubscription
    try {
      live = await this.hub.store.subscribe(this.key)
    } catch (err) {
      // Later subscribers of this key start a fresh attempt instead of sharing this failure.
      if (this.hub.feeds.get(this.key) === this) this.hub.feeds.delete(this.key)
      throw err
    }
    if (this.closed) {
      live.close().catch((err: unknown) => this.hub.log.warn({ err, key: this.key }, 'closing a replay store subscription failed'))
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
      this.hub.counters.storeErrors++
      this.hub.log.error({ err: failure, key: this.key }, 'replay store subscription failed; disconnecting its subscribers')
    }
    if (this.hub.feeds.get(this.key) === this) this.hub.feeds.delete(this.key)
    this.closed = true
    for (const subscriber of this.subscribers) subscriber.disconnect()
  }

  deliver (item: LiveItem): void {
    if (item.type === 'reset') {
      for (const subscriber of this.subscribers) subscriber.onStoreReset(item)
      return
    }
    const event = item.event
    let chunk: string
    try {
      chunk = encodeFrame({ event: event.event, id: event.id }, event.data)
    } catch (err) {
      // Only a store handing back what publish() never accepts gets here.
      this.hub.log.error({ err, key: this.key, id: event.id }, 'replay store returned an event that cannot be framed; skipped')
      return
    }
    this.current = event
    this.currentIdOnly = null
    this.currentView = null
    const epoch = epochOf(event.id)
    for (const subscriber of this.subscribers) subscriber.onLive(item, epoch, chunk)
    this.current = null
  }

  /** The feed's copy of an epoch string, so subscribers share one. */
  intern (epoch: string): string {
    if (epoch !== this.epoch) this.epoch = epoch
    return this.epoch
  }

  /** `id: <id>` alone: moves a client's cursor past an event it does not receive. */
  idOnly (event: StoredEvent): string {
    if (event !== this.current) return 'id: ' + event.id + '\n\n'
    return (this.currentIdOnly ??= 'id: ' + event.id + '\n\n')
  }

  /** What a filter sees; one per event, so data is parsed once however many subscribers filter it. */
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
      this.hub.log.warn({ err, key: this.key }, 'closing a replay store subscription failed')
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

export function epochOf (id: string): string {
  const colon = id.lastIndexOf(':')
  return colon === -1 ? '' : id.slice(0, colon)
}

function ignore (): void {}
