import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Connection, EndListener } from '../connection.js'
import { idOnlyFrame, encodeFrame } from '../encode.js'
import { logSafely } from '../safe-log.js'
import { FST_SSE_INVALID_TOPICS, FST_SSE_TOPIC_FORBIDDEN, FST_SSE_UNKNOWN_TOPIC } from '../errors.js'
import { formatEventId, parseEventId } from '../event-id.js'
import type { LastEventIdResult } from '../last-event-id.js'
import { assertKnownOptions, subscribeOption } from '../option-checks.js'
import type { StoredEvent, StreamKey } from '../stores/types.js'
import type { EventMap } from '../typed/event-pipeline.js'
import { MAX_TOPICS, entryOf, entryPrefix, keyTag, nameTag, parseCursor, positionOf, type CursorEntry } from './cursor.js'
import { checkSubscribeOptions, countEviction, Subscriber, type SubscriberDeps, type SubscriberExtras } from './subscriber.js'
import type { SseChannel, SubscribeOptions, Topic } from './topics.js'

/** One topic of a many-topic stream: the stream it reads, who may read it, and its subscribe options. */
export interface TopicOptions<Events extends EventMap = EventMap, Provider = unknown> extends SubscribeOptions<Events, Provider> {
  /** The declared stream (or a stream name); a keyed stream takes its key from the request, as subscribe() does. */
  stream: string | SseChannel<Events, boolean, Provider>
  /** Whether this request may read the topic; false answers 403 (`FST_SSE_TOPIC_FORBIDDEN`) before any byte is sent. */
  authorize?: (request: FastifyRequest) => boolean | PromiseLike<boolean>
  /**
   * Where the topic starts when the client's cursor does not name it (a new topic): an id from
   * the stream's `head()`, e.g. taken with a snapshot the page shows. Default: the head.
   */
  from?: string
}

/** A topic: a declared stream, or its options. */
export type TopicEntry<Events extends EventMap = EventMap, Provider = unknown> = SseChannel<Events, boolean, Provider> | TopicOptions<Events, Provider>

/** Topic name → topic. A name is 1 to 64 characters of `[A-Za-z0-9_-]`. */
export type TopicMap = Record<string, TopicEntry<any, any>>

export interface SubscribeTopicsOptions {
  /**
   * The topics the client asks for, by name: an array, or a comma-separated string (a query
   * parameter as it comes). A name not in the map answers 404 (`FST_SSE_UNKNOWN_TOPIC`).
   * Default: every topic of the map.
   */
  select?: string | readonly string[] | undefined
}

/** What the event names of a topic map become on the wire: `<topic>.<event>`. */
export type TopicEventName<Topics extends TopicMap> = `${keyof Topics & string}.${string}`

const TOPIC_NAME = /^[A-Za-z0-9_-]{1,64}$/
// A select longer than the most topics of the longest names cannot be honoured.
const MAX_SELECT_LENGTH = MAX_TOPICS * 65

/** One topic of a many-topic stream, resolved for one request. */
export interface Planned {
  name: string
  topic: Topic
  key: StreamKey
  options: SubscribeOptions | undefined
  from: string | undefined
  authorize: ((request: FastifyRequest) => boolean | PromiseLike<boolean>) | undefined
}

/**
 * Resolves the topics a request asks for, before any byte is sent: unknown names, bad
 * declarations and keys that cannot be derived throw here, and every `authorize` is awaited
 * (a false answers 403).
 */
export async function planTopics (
  request: FastifyRequest, map: TopicMap, options: SubscribeTopicsOptions | undefined, resolve: (target: string | SseChannel) => Topic
): Promise<Planned[]> {
  if (map === null || typeof map !== 'object') throw subscribeOption('topics must be an object of topic name → stream')
  if (options !== undefined) {
    if (options === null || typeof options !== 'object') throw subscribeOption('options must be an object')
    assertKnownOptions(options, ['select'], subscribeOption)
  }
  const names = selected(map, options?.select)
  const planned: Planned[] = []
  const tags = new Map<string, string>()
  for (const name of names) {
    const entry = map[name] as TopicEntry
    const tag = nameTag(name)
    const other = tags.get(tag)
    if (other !== undefined) throw subscribeOption(`topics ${other} and ${name} share a cursor tag; rename one of them`)
    tags.set(tag, name)
    planned.push(planOne(request, name, entry, resolve))
  }
  const verdicts = await Promise.all(planned.map((p) => p.authorize === undefined ? true : p.authorize(request)))
  verdicts.forEach((allowed, i) => {
    if (allowed !== true) throw new FST_SSE_TOPIC_FORBIDDEN(JSON.stringify((planned[i] as Planned).name))
  })
  // Keys only once authorized: a keyed stream's key function may assume what authorize checked (a signed-in user).
  for (const p of planned) p.key = p.topic.keyFor(request)
  return planned
}

function selected (map: TopicMap, select: SubscribeTopicsOptions['select']): string[] {
  const all = Object.keys(map)
  for (const name of all) {
    if (!TOPIC_NAME.test(name)) throw subscribeOption(`topic name ${JSON.stringify(name.slice(0, 64))} must be 1 to 64 characters of [A-Za-z0-9_-]`)
  }
  if (all.length === 0) throw subscribeOption('topics must name at least one topic')
  if (select === undefined) {
    if (all.length > MAX_TOPICS) throw subscribeOption(`a stream carries at most ${MAX_TOPICS} topics, got ${all.length}`)
    return all
  }
  let asked: readonly unknown[]
  if (typeof select === 'string') {
    if (select.length > MAX_SELECT_LENGTH) throw new FST_SSE_INVALID_TOPICS(`the list is longer than ${MAX_SELECT_LENGTH} characters`)
    asked = select === '' ? [] : select.split(',')
  } else if (Array.isArray(select)) {
    asked = select
  } else {
    throw new FST_SSE_INVALID_TOPICS(`expected a comma-separated string or an array, got ${typeof select}`)
  }
  if (asked.length === 0) throw new FST_SSE_INVALID_TOPICS('no topic asked for')
  if (asked.length > MAX_TOPICS) throw new FST_SSE_INVALID_TOPICS(`at most ${MAX_TOPICS} topics, got ${asked.length}`)
  const names: string[] = []
  for (const name of asked) {
    if (typeof name !== 'string' || !TOPIC_NAME.test(name) || !Object.hasOwn(map, name)) {
      throw new FST_SSE_UNKNOWN_TOPIC(typeof name === 'string' ? JSON.stringify(name.slice(0, 64)) : typeof name)
    }
    if (!names.includes(name)) names.push(name)
  }
  return names
}

function planOne (request: FastifyRequest, name: string, entry: TopicEntry, resolve: (target: string | SseChannel) => Topic): Planned {
  const invalid = (detail: string): Error => subscribeOption(`topic ${name}: ${detail}`)
  if (entry === null || typeof entry !== 'object') throw invalid('expected a declared stream or { stream, ... }')
  let topic: Topic
  let options: SubscribeOptions | undefined
  let from: string | undefined
  let authorize: Planned['authorize']
  if ('stream' in entry && !('publish' in entry)) {
    assertKnownOptions(entry, ['stream', 'filter', 'onReset', 'authorize', 'from'], invalid)
    topic = resolve(entry.stream as string | SseChannel)
    const { filter, onReset } = entry
    options = filter === undefined && onReset === undefined ? undefined : { filter, onReset } as SubscribeOptions
    try {
      checkSubscribeOptions(options)
    } catch (err) {
      throw invalid((err as Error).message.replace(/^Invalid subscribe option: /, ''))
    }
    if (entry.authorize !== undefined && typeof entry.authorize !== 'function') throw invalid('authorize must be a function of the request')
    if (entry.from !== undefined && typeof entry.from !== 'string') throw invalid('from must be an event id string')
    authorize = entry.authorize
    from = entry.from
  } else {
    topic = resolve(entry as SseChannel)
  }
  return { name, topic, key: '', options, from, authorize }
}

/** A live event's frame as the connections of one topic and key share it (see TopicMember.frameOf). */
interface SharedFrame {
  tag: string
  label: string
  epoch: string
  /** This topic's entry at the event. */
  entry: string
  /** The entries of the cursor the frame carries, in order. */
  entries: string[]
  frame: string
}

/** How a topic is positioned when the stream starts. */
export type Start =
  | { kind: 'resume', position: string, reported: string }
  | { kind: 'malformed', reported: string | null }
  | { kind: 'head' }

/**
 * The subscribers of one many-topic stream: they share its connection, its composite cursor,
 * one bound on the live items they hold while being positioned, and one replay at a time.
 */
export class TopicSet implements EndListener {
  readonly members: TopicMember[]
  private heldBytes = 0
  private turns: Promise<void> = Promise.resolve()

  constructor (readonly conn: Connection, readonly deps: SubscriberDeps, planned: Planned[], starts: Start[], reply: FastifyReply) {
    this.members = planned.map((p, i) => {
      const { filter = null, onReset = null } = p.options ?? {}
      const extras: SubscriberExtras | null = filter === null && onReset === null
        ? null
        : { filter: filter as never, onReset: onReset as never, reply: onReset === null ? null : reply }
      return new TopicMember(this, p, extras, starts[i] as Start)
    })
  }

  /** The `id:` of the next frame: every topic's position. */
  cursor (): string {
    const { members } = this
    let out = (members[0] as TopicMember).entry()
    for (let i = 1; i < members.length; i++) out += ',' + (members[i] as TopicMember).entry()
    return out
  }

  /**
   * Positions every topic, then replays each in turn and lets it go live. `heads` are the
   * heads of new topics read as the request was accepted. Never rejects.
   */
  start (heads: Array<Promise<string> | null>): Promise<void> {
    return this.turn(() => this.position(heads)).catch((err: unknown) => this.fail(err))
  }

  private async position (heads: Array<Promise<string> | null>): Promise<void> {
    const { conn, members } = this
    for (const member of members) member.attach()
    await Promise.all(members.map((m) => m.ready()))
    if (conn.closed) return
    const starts = await Promise.all(members.map((m, i) => m.plan.kind === 'resume' ? m.plan.position : (heads[i] ?? this.deps.store.head(m.key))))
    if (conn.closed) return
    members.forEach((m, i) => m.place(starts[i] as string))
    // Every notice before any replay: each frame names every topic, and a topic that must be
    // told to resync is named at its new position only in the frame that tells it.
    let wrote = false
    for (const m of members) {
      if (m.plan.kind === 'malformed') {
        m.notifyMalformed(m.plan.reported)
        wrote = true
      }
    }
    // A client reconnecting before any event resumes every new topic instead of starting over.
    if (!wrote && members.some((m) => m.plan.kind === 'head')) conn.write(idOnlyFrame(this.cursor()), false)
    for (let i = 0; i < members.length; i++) {
      const m = members[i] as TopicMember
      await m.catchUpFromStart(starts[i] as string)
      if (conn.closed) return
      m.live()
    }
  }

  /** Runs `replay` after the replays before it: one page read and held at a time per connection. */
  turn (replay: () => Promise<void>): Promise<void> {
    const run = this.turns.then(replay)
    this.turns = run.then(ignore, ignore)
    return run
  }

  /** Live items held across every topic, after `bytes` more. */
  hold (bytes: number): number {
    this.heldBytes += bytes
    return this.heldBytes
  }

  release (bytes: number): void {
    this.heldBytes -= bytes
  }

  /** A store failure while positioning: the client is disconnected and resumes on reconnect. */
  private fail (err: unknown): void {
    if (this.conn.closed) return
    this.deps.counters.storeErrors++
    logSafely(this.deps.log, 'error', { err, keys: this.members.map((m) => m.key) }, 'replay store failed while positioning a many-topic stream; disconnecting it')
    this.conn.end('error')
  }

  connectionEnded (conn: Connection): void {
    const first = this.members[0] as TopicMember
    countEviction(this.deps.counters, conn, first.key)
    for (const member of this.members) member.left()
  }
}

/** Where each topic starts, from the client's cursor. */
export function startsOf (planned: Planned[], cursor: LastEventIdResult): Start[] {
  const entries = cursor.status === 'ok' ? parseCursor(cursor.value) : undefined
  const unusable = cursor.status === 'invalid' || (cursor.status === 'ok' && entries === undefined)
  return planned.map((p) => unusable ? { kind: 'malformed', reported: null } : startOf(entries?.get(nameTag(p.name)), keyTag(p.key), p.from))
}

function startOf (entry: CursorEntry | undefined, key: string, from: string | undefined): Start {
  if (entry === undefined) {
    if (from === undefined) return { kind: 'head' }
    return parseEventId(from) === undefined ? { kind: 'malformed', reported: null } : { kind: 'resume', position: from, reported: from }
  }
  if (entry.status !== 'ok') return { kind: 'malformed', reported: null }
  const position = positionOf(entry)
  // Another key's entry (a cursor from another user, or pasted): never a position on this key.
  if (entry.keyTag !== key) return { kind: 'malformed', reported: position }
  return { kind: 'resume', position, reported: position }
}

/** One topic of a many-topic stream: a subscriber whose frames say their topic and carry the set's cursor. */
export class TopicMember extends Subscriber {
  readonly key: StreamKey
  private readonly label: string
  private readonly tag: string
  private readonly target: Topic
  private prefix = ''
  private prefixEpoch: string | null = null
  private entryText = ''
  private entryOffset = -1

  constructor (private readonly set: TopicSet, planned: Planned, extras: SubscriberExtras | null, readonly plan: Start) {
    super(set.conn, set.deps, extras)
    this.label = planned.name
    this.key = planned.key
    this.target = planned.topic
    this.tag = nameTag(planned.name) + keyTag(planned.key)
  }

  attach (): void {
    this.feed = this.deps.hub.attach(this.key, this.target, this)
  }

  ready (): Promise<void> {
    return this.feed === null ? Promise.resolve() : this.feed.ready
  }

  place (id: string): void {
    this.moveTo(id)
  }

  notifyMalformed (reported: string | null): void {
    this.notify('malformed', formatEventId(this.epoch, this.lastSent), reported)
  }

  /** Replays what the topic missed since its start, or runs the hook of its reset notice. */
  async catchUpFromStart (start: string): Promise<void> {
    const s = this.plan
    if (s.kind === 'resume') {
      await this.catchUp(s.reported)
    } else if (s.kind === 'malformed') {
      await this.afterReset('malformed', start, s.reported)
    } else {
      // Published between accepting the request and going live: in the store after that head.
      const current = await this.deps.store.head(this.key)
      if (this.conn.closed) return
      if (current !== start) await this.catchUp(null)
    }
  }

  live (): void {
    this.goLive()
  }

  /** The connection ended: the set is its end listener, and counts an eviction once for all its topics. */
  left (): void {
    this.detach()
  }

  /** This topic's part of the cursor. */
  entry (): string {
    if (this.epoch !== this.prefixEpoch) this.prefixFor(this.epoch)
    if (this.lastSent !== this.entryOffset) {
      this.entryOffset = this.lastSent
      this.entryText = entryOf(this.prefix, this.lastSent)
    }
    return this.entryText
  }

  private prefixFor (epoch: string): string {
    if (epoch !== this.prefixEpoch) {
      this.prefixEpoch = epoch
      this.prefix = entryPrefix(this.tag, epoch)
      this.entryOffset = -1
    }
    return this.prefix
  }

  protected override inTurn (replay: () => Promise<void>): Promise<void> {
    return this.set.turn(replay)
  }

  protected override held (bytes: number): number {
    return this.set.hold(bytes)
  }

  protected override released (bytes: number): void {
    this.set.release(bytes)
  }

  protected override frameOf (event: StoredEvent, chunk: string | undefined): string {
    const feed = this.feed
    // Replayed, or a live event written after waiting: framed for this connection alone.
    if (chunk === undefined || feed === null) return labelledFrame(event, this.label) + 'id: ' + this.set.cursor() + '\n\n'
    // Live, in order, in this topic's epoch: every connection of this topic and key writes the
    // same entry for it, and those whose other topics stand where this one's did write the
    // same frame. In a fan-out that is most of them: one frame, made once, as on one stream.
    let shared = feed.shared as SharedFrame | null
    if (shared === null || shared.tag !== this.tag || shared.label !== this.label || shared.epoch !== this.epoch) {
      shared = { tag: this.tag, label: this.label, epoch: this.epoch, entry: entryOf(this.prefixFor(this.epoch), event.offset), entries: [], frame: '' }
      feed.shared = shared
    }
    this.entryOffset = event.offset
    this.entryText = shared.entry
    const { members } = this.set
    const entries = shared.entries
    let same = entries.length === members.length
    for (let i = 0; same && i < members.length; i++) same = (members[i] as TopicMember).entry() === entries[i]
    if (same) return shared.frame
    const cursor = this.set.cursor()
    shared.entries = members.map((m) => m.entry())
    shared.frame = feed.labelled(event, this.label) + 'id: ' + cursor + '\n\n'
    return shared.frame
  }

  protected override idOnlyOf (): string {
    return idOnlyFrame(this.set.cursor())
  }

  protected override resetFrame (_head: string, data: string): string {
    return encodeFrame({ event: this.label + '.' + this.topic.resetEvent }, data).slice(0, -1) + 'id: ' + this.set.cursor() + '\n\n'
  }

  protected override snapshotEvent (event: string | undefined): string {
    return this.label + '.' + (event === undefined || event === '' ? 'message' : event)
  }
}

function labelledFrame (event: StoredEvent, label: string): string {
  return encodeFrame({ event: label + '.' + (event.event ?? 'message') }, event.data).slice(0, -1)
}

function ignore (): void {}
