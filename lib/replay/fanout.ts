import type { FastifyBaseLogger, FastifyReply } from 'fastify'
import { Topic, Topics, type PublishItem, type PublishOptions, type SseChannel, type SseChannelOptions, type SubscribeOptions } from './topics.js'
import type { SseItem } from '../encode.js'
import { pluginOption } from '../option-checks.js'
import type { EventMap } from '../typed/event-pipeline.js'
import { Hub } from './hub.js'
import { Counters, type SseMetrics } from './metrics.js'
import { memoryStore } from '../stores/memory.js'
import type { ReplayStore, StoredEvent } from '../stores/types.js'
import type { Runtime } from '../runtime.js'
import { claim, open, type StreamState } from '../stream.js'
import { checkSubscribeOptions, Subscriber, type SubscriberDeps } from './subscriber.js'
import { planTopics, startsOf, TopicSet, type Planned, type SubscribeTopicsOptions, type TopicMap } from './topic-set.js'
import { MAX_CURSOR_BYTES } from './cursor.js'
import { readLastEventId } from '../last-event-id.js'

/**
 * The replay and fan-out half of `fastify.sse`. `Provider` is the instance's type provider:
 * `app.withTypeProvider<TypeBoxTypeProvider>().sse` types streams of TypeBox 1.x schemas.
 */
export interface SseFanout<Provider = unknown> {
  /**
   * Declares a stream: its events (typed, validated and serialized once per publish), its
   * retention and replay bounds, and for a keyed stream how a subscriber's key is derived
   * from its request.
   */
  stream: <Events extends EventMap = EventMap, Options extends SseChannelOptions<Events> = SseChannelOptions<Events>>(
    name: string, options?: Options & SseChannelOptions<Events>
  ) => SseChannel<Events, Options extends { key: (...args: never[]) => string } ? true : false, Provider>
  /**
   * Publishes to a declared stream (or an undeclared name, with default settings): validated
   * and serialized once, stored, and delivered by the store to every subscriber. Keyed streams
   * need `options.key`.
   */
  publish: <Events extends EventMap = EventMap, ChannelProvider = Provider>(
    stream: string | SseChannel<Events, boolean, ChannelProvider>, item: PublishItem<Events, ChannelProvider>, options?: PublishOptions & { key?: string }
  ) => Promise<StoredEvent>
  /** A snapshot of the counters, e.g. for a metrics library's collect callback. */
  metrics: () => SseMetrics
  /** The replay store in use. */
  readonly store: ReplayStore
}

/** Starts one stream carrying several replay streams; see `reply.sse.subscribeTopics`. */
export type SubscribeTopicsFunction = <Topics extends TopicMap>(topics: Topics, options?: SubscribeTopicsOptions) => Promise<void>

/** Starts a live + replay stream on `reply`; see `reply.sse.subscribe`. */
export type SubscribeFunction = <Events extends EventMap = EventMap, Provider = unknown>(
  stream: string | SseChannel<Events, boolean, Provider>, options?: SubscribeOptions<Events, Provider>
) => Promise<void>

export class Fanout implements SseFanout {
  readonly store: ReplayStore
  readonly hub: Hub
  private readonly counters = new Counters()
  private readonly topics: Topics
  private readonly ownsStore: boolean
  private readonly subscriberDeps: SubscriberDeps

  constructor (private readonly runtime: Runtime, store: ReplayStore | undefined, log: FastifyBaseLogger) {
    this.ownsStore = store === undefined
    this.store = store ?? memoryStore()
    const { options } = runtime
    this.hub = new Hub(this.store, this.counters, log)
    this.subscriberDeps = {
      hub: this.hub,
      store: this.store,
      counters: this.counters,
      log,
      maxBufferedBytes: options.maxBufferedBytes,
      // Like a stream refused over a cap: a 200 with a `retry:` drawn per stream, so EventSource
      // backs off instead of reconnecting at once in a loop (any other status makes it give up).
      failFrame: () => 'retry: ' + (options.limitRetryMs + Math.floor(Math.random() * options.limitRetryMs)) + '\n\n'
    }
    this.topics = new Topics({
      store: this.store,
      counters: this.counters,
      serializer: options.serializer,
      maxEventBytes: options.maxEventBytes
    })
  }

  /** Streams open right now (every kind). */
  get openStreams (): number {
    return this.runtime.registry.size
  }

  stream (name: string, options?: SseChannelOptions): never {
    return this.topics.declare(name, options) as never
  }

  publish (stream: string | SseChannel<any, any, any>, item: SseItem, options?: PublishOptions & { key?: string }): Promise<StoredEvent> {
    let topic: Topic
    try {
      topic = this.topics.resolve(stream as string | SseChannel)
    } catch (err) {
      this.counters.publishFailures++
      return Promise.reject(err)
    }
    return topic.publish(item, options)
  }

  metrics (): SseMetrics {
    const c = this.counters
    return {
      openStreams: this.runtime.registry.size,
      subscribers: this.hub.subscribers,
      channels: this.hub.feeds.size,
      published: c.published,
      publishFailures: c.publishFailures,
      replays: c.replays,
      replayedEvents: c.replayedEvents,
      resets: { ...c.resets },
      evictions: c.evictions,
      bufferedBytes: this.runtime.budget.queued,
      storeErrors: c.storeErrors,
      ...this.runtime.registry.metrics()
    }
  }

  /**
   * `reply.sse.subscribe()`. Mistakes (unknown target, a key function that throws, bad
   * options) throw before any byte is sent, so they become ordinary HTTP errors. After that
   * the response is a 200 event stream whatever happens, and the promise resolves once the
   * client is live (it never rejects): a handler can return it without holding the request
   * for the life of the stream.
   */
  subscribe (reply: FastifyReply, state: StreamState, target: string | SseChannel<any, any, any>, options: SubscribeOptions | undefined): Promise<void> {
    const topic = this.topics.resolve(target as string | SseChannel)
    checkSubscribeOptions(options)
    const key = topic.keyFor(reply.request)
    claim(reply, state)
    // Read before the response opens: a client that publishes once it sees the stream open
    // (or a handler that publishes right after this call) publishes after this head.
    const head = state.lastEventId.status === 'absent' ? headNow(this.store, key) : null
    const conn = open(this.runtime, reply)
    if (conn.closed) return Promise.resolve()
    const filter = options?.filter ?? null
    const onReset = options?.onReset ?? null
    const extras = filter === null && onReset === null
      ? null
      : { filter: filter as never, onReset: onReset as never, reply: onReset === null ? null : reply }
    const subscriber = new Subscriber(conn, this.subscriberDeps, extras)
    conn.onEnd(subscriber)
    return subscriber.start(topic, key, state.lastEventId, head)
  }

  /**
   * `reply.sse.subscribeTopics()`. Rejects before any byte is sent (an unknown topic 404, a
   * forbidden one 403, a mistake in the map 500), so a handler returning it answers with
   * Fastify's JSON error; once the stream has started it never rejects.
   */
  async subscribeTopics (reply: FastifyReply, state: StreamState, map: TopicMap, options: SubscribeTopicsOptions | undefined): Promise<void> {
    const request = reply.request
    const planned = await planTopics(request, map, options, (target) => this.topics.resolve(target))
    claim(reply, state)
    // The composite cursor is longer than one stream's id: read again under its own bound.
    const cursor = state.lastEventId.status === 'absent'
      ? state.lastEventId
      : readLastEventId(request, { query: this.runtime.options.lastEventIdQuery, maxLength: MAX_CURSOR_BYTES })
    const starts = startsOf(planned, cursor)
    // Read before the response opens, as for one stream: see subscribe().
    const heads = starts.map((start, i) => start.kind === 'head' ? headNow(this.store, (planned[i] as Planned).key) : null)
    const set = new TopicSet(open(this.runtime, reply), this.subscriberDeps, planned, starts, reply)
    if (set.conn.closed) return
    set.conn.onEnd(set)
    return set.start(heads)
  }

  /** After every stream has ended: release the store subscriptions, and the store if the plugin made it. */
  async close (): Promise<void> {
    await this.hub.close()
    if (this.ownsStore) await this.store.close()
  }
}

/** The store's head as a promise that is never left unhandled (the connection may end before it is awaited). */
function headNow (store: ReplayStore, key: string): Promise<string> {
  let head: Promise<string>
  try {
    head = store.head(key)
  } catch (err) {
    head = Promise.reject(err)
  }
  head.catch(() => {})
  return head
}

/** Checks the `store` plugin option's shape. */
export function checkStore (store: unknown): ReplayStore | undefined {
  if (store === undefined) return undefined
  const s = store as Record<string, unknown>
  if (store === null || typeof store !== 'object' ||
    !['append', 'readAfter', 'head', 'subscribe', 'close'].every((m) => typeof s[m] === 'function')) {
    throw pluginOption('store must implement append, readAfter, head, subscribe and close')
  }
  return store as ReplayStore
}
