import type { EventSchema, StaticOf, WireOf } from '../typed/event-types.js'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { encodeFrame, type DataSerializer, type SseItem } from '../encode.js'
import { FST_SSE_INVALID_EVENT, FST_SSE_INVALID_KEY, FST_SSE_INVALID_STREAM_OPTION, FST_SSE_REPLAY_ID } from '../errors.js'
import { compileEvents, type EventMap, type EventOptions, type EventPipeline } from '../typed/event-pipeline.js'
import { diagnostics } from '../diagnostics.js'
import { assertKnownOptions, integerOption, nestedOption, publishOption, streamOption } from '../option-checks.js'
import type { Counters, ResetReason } from './metrics.js'
import type { ReplayStore, Retention, StoredEvent, StreamKey } from '../stores/types.js'

/** Replay settings of a stream: its retention in the store, and how far back a client may resume. */
export interface ReplayOptions extends Retention {
  /** Most events sent to one reconnecting client; a cursor further behind gets a `limit` reset. Default 1000. */
  maxReplay?: number
}

export interface SseChannelOptions<Events extends EventMap = EventMap> extends EventOptions {
  /** Event name → TypeBox schema of its `data`: types publish(), validates and serializes once per event. */
  events?: Events
  replay?: ReplayOptions
  /** Event name of the reset notice. Default `reset`. */
  resetEvent?: string
  /**
   * Makes this a family of streams, one per key: the key of a subscriber is derived from its
   * request on the server (e.g. the authenticated user's id), never taken from the client.
   * The store key is `<name>:<key>`.
   */
  key?: (request: FastifyRequest) => string
}

/**
 * A published item of a stream declared with `events`: one of its events, with typed data.
 * `Provider` is the type provider of the instance the stream was declared on: what gives a
 * TypeBox 1.x schema its static type (see StaticOf).
 */
export type PublishItem<Events extends EventMap = EventMap, Provider = unknown> = string extends keyof Events
  ? { event?: string, data: unknown }
  : { [Name in keyof Events & string]: Name extends 'message'
      ? { event?: 'message', data: StaticOf<Events[Name], Provider> }
      : { event: Name, data: StaticOf<Events[Name], Provider> } }[keyof Events & string]

export interface PublishOptions {
  /** Repeating a publish with the same key within the store's window stores it once and returns the first result. */
  idempotencyKey?: string
}

/** The event a per-connection filter is asked about (replayed or live alike). */
export interface FilterEvent<Events extends EventMap = EventMap, Provider = unknown> {
  /** `<epoch>:<offset>`. */
  readonly id: string
  /** Event name; undefined for `message`. */
  readonly event: string | undefined
  /** The data as stored (serialized text). */
  readonly text: string
  /** `text` parsed as JSON (parsed once per event, shared by every connection), or `text` when it is not JSON. What was stored: a Standard Schema's output. */
  readonly data: string extends keyof Events ? unknown : WireOf<Events[keyof Events], Provider>
}

/** What an `onReset` hook gets: why the client must resync, and a way to send it a snapshot. */
export interface ResetContext<Events extends EventMap = EventMap, Provider = unknown> {
  reason: ResetReason
  /** What the client sent, or null when it sent nothing usable. */
  lastEventId: string | null
  /** The id the client was moved to; live events continue after it. */
  head: string
  request: FastifyRequest
  reply: FastifyReply
  /** Sends one item (validated like a published one, without an id) before live events resume. */
  send: (item: PublishItem<Events, Provider>) => boolean
}

export interface SubscribeOptions<Events extends EventMap = EventMap, Provider = unknown> {
  /** Which events this connection receives, replayed and live alike. A filtered event still advances its cursor. */
  filter?: (event: FilterEvent<Events, Provider>) => boolean
  /** Runs after a reset notice and before live events resume: push a snapshot with `send()`. */
  onReset?: (context: ResetContext<Events, Provider>) => void | PromiseLike<void>
}

/** A declared stream: its events, its retention, and how subscribers' keys are derived. */
export interface SseChannel<Events extends EventMap = EventMap, Keyed extends boolean = boolean, Provider = unknown> {
  readonly name: string
  readonly keyed: Keyed
  /**
   * Validates and serializes the item once, stores it (the store assigns its id) and resolves
   * with the stored event; every subscriber receives it through the store.
   */
  publish: Keyed extends true
    ? (item: PublishItem<Events, Provider>, options: PublishOptions & { key: string }) => Promise<StoredEvent>
    : (item: PublishItem<Events, Provider>, options?: PublishOptions & { key?: undefined }) => Promise<StoredEvent>
  /**
   * The id of the stream's newest event (`<epoch>:0` before the first). Taken with a snapshot
   * of the app's state, it lets a page subscribe from exactly that point (`?lastEventId=`).
   */
  head: Keyed extends true
    ? (options: { key: string }) => Promise<string>
    : (options?: { key?: undefined }) => Promise<string>
}

/** Everything a declared stream needs at run time, shared by the streams of one plugin instance. */
export interface TopicDeps {
  readonly store: ReplayStore
  readonly counters: Counters
  readonly serializer: DataSerializer
  readonly maxEventBytes: number
}

const NAME = /^[^:\r\n\0]{1,200}$/
const MAX_KEY_LENGTH = 1024

/** One declared (or implied, for an undeclared name) stream. */
export class Topic implements SseChannel {
  readonly keyed: boolean
  readonly pipeline: EventPipeline
  readonly retention: Retention | undefined
  readonly maxReplay: number
  readonly resetEvent: string
  private readonly keyOf: ((request: FastifyRequest) => string) | undefined

  constructor (readonly name: string, options: SseChannelOptions, private readonly runtime: TopicDeps) {
    const invalid = streamOption(name)
    if (options === null || typeof options !== 'object') throw invalid('options must be an object')
    assertKnownOptions(options, ['events', 'validate', 'serialize', 'onInvalid', 'replay', 'resetEvent', 'key'], invalid)
    const { replay = {}, resetEvent = 'reset', key } = options
    if (replay === null || typeof replay !== 'object') throw invalid('replay must be an object')
    assertKnownOptions(replay, ['maxReplay', 'maxEvents', 'maxBytes', 'maxAgeMs'], nestedOption(invalid, 'replay'))
    if (key !== undefined && typeof key !== 'function') throw invalid('key must be a function of the request')
    if (typeof resetEvent !== 'string' || resetEvent === '' || /[\r\n]/.test(resetEvent)) {
      throw invalid('resetEvent must be a non-empty string without line breaks')
    }
    this.keyed = key !== undefined
    this.keyOf = key
    this.resetEvent = resetEvent
    this.maxReplay = integerOption(replay.maxReplay, 'replay.maxReplay', 1, 1000, invalid)
    const retention: Retention = {}
    if (replay.maxEvents !== undefined) retention.maxEvents = integerOption(replay.maxEvents, 'replay.maxEvents', 1, undefined, invalid)
    if (replay.maxBytes !== undefined) retention.maxBytes = integerOption(replay.maxBytes, 'replay.maxBytes', 1, undefined, invalid)
    if (replay.maxAgeMs !== undefined) retention.maxAgeMs = integerOption(replay.maxAgeMs, 'replay.maxAgeMs', 0, undefined, invalid)
    this.retention = Object.keys(retention).length === 0 ? undefined : retention
    this.pipeline = compileEvents(options.events, options, runtime.serializer, { where: `stream ${name}`, invalid })
  }

  /** The store key of a subscriber: derived from its request for a keyed stream. */
  keyFor (request: FastifyRequest): StreamKey {
    if (this.keyOf === undefined) return this.name
    return this.name + ':' + checkKey(this.keyOf(request), this.name)
  }

  publish (item: SseItem, options?: PublishOptions & { key?: string }): Promise<StoredEvent> {
    return publishTo(this, item, options)
  }

  head (options?: { key?: string }): Promise<string> {
    try {
      return this.store.head(this.storeKeyOf(options?.key))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Validates and serializes an item to store; throws a coded error for anything a store cannot keep. */
  prepare (item: SseItem): { event: string | undefined, data: string } {
    if (item === null || typeof item !== 'object') throw new FST_SSE_INVALID_EVENT(`expected an object, got ${item === null ? 'null' : typeof item}`)
    if (item.id !== undefined) throw new FST_SSE_REPLAY_ID(`an item with id ${JSON.stringify(String(item.id))} to stream ${this.name}`)
    if (item.retry !== undefined || item.comment !== undefined) {
      throw new FST_SSE_INVALID_EVENT('a published item carries event and data only (retry and comment are not stored)')
    }
    const { event, text } = this.pipeline.prepare(item)
    if (text === undefined) throw new FST_SSE_INVALID_EVENT('a published item needs data')
    // Framing checks the event name; the size is checked on the frame clients will get.
    encodeFrame({ event, id: 'x'.repeat(49) }, text, this.runtime.maxEventBytes)
    return { event: event === '' ? undefined : event, data: text }
  }

  storeKeyOf (key: string | undefined): StreamKey {
    if (!this.keyed) {
      if (key !== undefined) throw new FST_SSE_INVALID_KEY(`stream ${this.name} is not keyed; publish without a key`)
      return this.name
    }
    if (key === undefined) throw new FST_SSE_INVALID_KEY(`stream ${this.name} is keyed; publish needs { key }`)
    return this.name + ':' + checkKey(key, this.name)
  }

  get store (): ReplayStore {
    return this.runtime.store
  }

  get counters (): Counters {
    return this.runtime.counters
  }
}

async function publishTo (topic: Topic, item: SseItem, options: (PublishOptions & { key?: string }) | undefined): Promise<StoredEvent> {
  const { counters } = topic
  try {
    const key = topic.storeKeyOf(options?.key)
    const { event, data } = topic.prepare(item)
    const idempotencyKey = options?.idempotencyKey
    if (idempotencyKey !== undefined && (typeof idempotencyKey !== 'string' || idempotencyKey === '')) {
      throw publishOption('idempotencyKey must be a non-empty string')
    }
    // Local subscribers get the event through the store's subscription, like every other
    // instance's: one delivery path, one order.
    const stored = await topic.store.append(key, { event, data, idempotencyKey }, { retention: topic.retention })
    counters.published++
    if (diagnostics.publish.hasSubscribers) diagnostics.publish.publish({ stream: topic.name, key, event, id: stored.id })
    return stored
  } catch (err) {
    counters.publishFailures++
    throw err
  }
}

/** Declared streams of one plugin instance, and the implied ones behind undeclared names. */
export class Topics {
  private readonly declared = new Map<string, Topic>()
  private readonly implied = new Map<string, Topic>()

  constructor (private readonly runtime: TopicDeps) {}

  declare (name: string, options: SseChannelOptions = {}): Topic {
    if (typeof name !== 'string' || !NAME.test(name)) {
      const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 64)) + (name.length > 64 ? '…' : '') : typeof name
      throw new FST_SSE_INVALID_STREAM_OPTION(shown, 'a stream name is 1 to 200 characters without \':\' or line breaks')
    }
    if (this.declared.has(name)) throw new FST_SSE_INVALID_STREAM_OPTION(name, 'it is already declared')
    if (this.implied.has(name)) throw new FST_SSE_INVALID_STREAM_OPTION(name, 'it was already used before being declared; declare it first')
    const topic = new Topic(name, options, this.runtime)
    this.declared.set(name, topic)
    return topic
  }

  /** A declared stream, or the one behind an undeclared name (default pipeline and retention). */
  resolve (target: string | SseChannel): Topic {
    if (target instanceof Topic) return target
    if (typeof target !== 'string' || target === '' || target.length > MAX_KEY_LENGTH) {
      throw new FST_SSE_INVALID_KEY(`expected a declared stream or a stream name, got ${typeof target === 'string' ? JSON.stringify(target.slice(0, 64)) : typeof target}`)
    }
    const declared = this.declared.get(target)
    if (declared !== undefined) return declared
    // `inbox:42` would bypass the declared `inbox` stream's validation.
    const colon = target.indexOf(':')
    if (colon !== -1 && this.declared.has(target.slice(0, colon))) {
      throw new FST_SSE_INVALID_KEY(`${JSON.stringify(target)} belongs to the declared stream ${target.slice(0, colon)}; use it with { key }`)
    }
    let topic = this.implied.get(target)
    if (topic === undefined) {
      topic = new Topic(target, {}, this.runtime)
      // Bounded by the application's own names, not by clients: keys derived from requests go through declared streams.
      if (this.implied.size < 10_000) this.implied.set(target, topic)
    }
    return topic
  }
}

function checkKey (key: unknown, name: string): string {
  if (typeof key !== 'string' || key === '' || key.length > MAX_KEY_LENGTH) {
    throw new FST_SSE_INVALID_KEY(`stream ${name}: a key is a non-empty string of at most ${MAX_KEY_LENGTH} characters, got ${typeof key === 'string' ? `${key.length} characters` : typeof key}`)
  }
  return key
}

export type { EventMap, EventSchema }
