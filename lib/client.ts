import type { WireOf } from './typed/event-types.js'
import { canShare, sharedEventSource } from './client-share.js'
import type { ShareOptions, ShareRole, SharedSource } from './client-share.js'

export type { ShareOptions, ShareRole } from './client-share.js'

// The browser side: typed listeners over EventSource. Type imports only, besides the sibling
// module that shares one connection across tabs, so this file compiles to code that loads no
// server code and no TypeBox.

/** What a listener receives besides the parsed data. */
export interface MessageEventLike {
  readonly type: string
  readonly data: string
  readonly lastEventId: string
}

/** The parts of `EventSource` the client uses: a browser's, undici's, or a polyfill. */
export interface EventSourceLike {
  readonly readyState: number
  addEventListener: (type: string, listener: (event: any) => void) => void
  removeEventListener: (type: string, listener: (event: any) => void) => void
  close: () => void
}

export type EventSourceConstructor = new (url: string | URL, init?: { withCredentials?: boolean }) => EventSourceLike

/**
 * The data type of each event, from the server's event map (TypeBox or Standard Schemas, via
 * `import type`; TypeBox 1.x schemas also need the type provider, as `Provider`) or from a
 * plain map of data types. A Standard Schema with transforms gives its output type: what the
 * server sends.
 */
export type ClientEventData<Events, Provider = unknown> = {
  // `infer … extends` rather than a plain conditional: TypeScript cannot bound the static type over an unconstrained map otherwise.
  [Name in keyof Events]: Events[Name] extends infer Schema extends SchemaType ? WireOf<Schema, Provider> : Events[Name]
}

/**
 * What marks a schema (TypeBox 0.34's phantom `static`, 1.x's `~kind`, Standard Schema's
 * `~standard`), as opposed to a plain data type.
 */
type SchemaType = { readonly static: unknown, readonly params: unknown[] } | { readonly '~kind': string } | { readonly '~standard': { readonly version: 1 } }

export type SseClientError =
  /** The connection failed or dropped; EventSource reconnects on its own unless `readyState` is CLOSED (2). */
  | { type: 'connection', event: unknown }
  /** An event's data was not what `parse` accepts (not JSON, by default). */
  | { type: 'parse', event: string, data: string, error: unknown }
  /** The server sent an `error` event (the plugin's terminal event when a stream fails). */
  | { type: 'server', data: unknown }

export interface SseClientOptions {
  /** The EventSource implementation. Default: the global one. */
  EventSource?: EventSourceConstructor
  /** Send cookies cross-origin. */
  withCredentials?: boolean
  /** Turns an event's data text into the listener's value. Default `JSON.parse`. */
  parse?: (text: string, event: string) => unknown
  /**
   * Share one connection among every tab of this origin that opens the same URL with `share`
   * (the last-event-id query parameter aside): one tab holds it and passes each event on, and
   * another takes over, from the last event seen, when that tab closes, crashes or is frozen.
   * Needs Web Locks and BroadcastChannel (a secure context); without them each tab has its own
   * connection, as with `false`. Only for streams that resume by event id. Default `false`.
   */
  share?: boolean | ShareOptions
}

export interface SseClient<Events, Provider = unknown> {
  /** Calls `listener` with the parsed data of each `event` event. Returns a function that removes it. */
  on: <Name extends keyof Events & string>(
    event: Name,
    listener: (data: ClientEventData<Events, Provider>[Name], message: MessageEventLike) => void
  ) => () => void
  /** Connection failures, unparsable data and the server's `error` events. Returns a function that removes the listener. */
  onError: (listener: (error: SseClientError) => void) => () => void
  /** Closes the connection for good (EventSource would otherwise reconnect after the stream ends). */
  close: () => void
  /** The EventSource, or with `share` one shaped like it whose state is the shared connection's. */
  readonly source: EventSourceLike
  /** `leader`: this tab holds the shared connection; `follower`: another tab does; `off`: a connection of its own. */
  readonly sharing: ShareRole
}

/**
 * Opens an EventSource on `url` with listeners typed by the route's event map:
 *
 *     import type { progressEvents } from './server/events'
 *     const client = createSseClient<typeof progressEvents>('/jobs/1/progress')
 *     client.on('progress', (data) => bar.set(data.percent))
 */
export function createSseClient<Events, Provider = unknown> (url: string | URL, options: SseClientOptions = {}): SseClient<Events, Provider> {
  const EventSourceImpl = options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource
  if (typeof EventSourceImpl !== 'function') {
    throw noEventSource('createSseClient')
  }
  const parse = options.parse ?? ((text: string) => JSON.parse(text) as unknown)
  const init = options.withCredentials === true ? { withCredentials: true } : undefined
  const share = options.share === true ? {} : options.share
  const shared = typeof share === 'object' && share !== null && canShare()
    ? sharedEventSource(url, (href) => new EventSourceImpl(href, init), { ...share, withCredentials: init !== undefined })
    : null
  const source: EventSourceLike = shared ?? new EventSourceImpl(url, init)
  const errorListeners = new Set<(error: SseClientError) => void>()

  const report = (error: SseClientError): void => {
    for (const listener of errorListeners) listener(error)
  }
  const decode = (message: MessageEventLike): { ok: true, value: unknown } | { ok: false } => {
    try {
      return { ok: true, value: parse(message.data, message.type) }
    } catch (error) {
      report({ type: 'parse', event: message.type, data: message.data, error })
      return { ok: false }
    }
  }

  // An `error` event with data came from the server; one without is EventSource's own.
  source.addEventListener('error', (event: Partial<MessageEventLike>) => {
    if (typeof event.data !== 'string') return report({ type: 'connection', event })
    const result = decode(event as MessageEventLike)
    if (result.ok) report({ type: 'server', data: result.value })
  })

  return {
    source,
    get sharing () {
      return shared === null ? 'off' : shared.role
    },
    on (event, listener) {
      const handler = (message: Partial<MessageEventLike>): void => {
        if (typeof message.data !== 'string') return // EventSource's own error event
        const result = decode(message as MessageEventLike)
        if (result.ok) listener(result.value as ClientEventData<Events, Provider>[typeof event], message as MessageEventLike)
      }
      source.addEventListener(event, handler)
      return () => source.removeEventListener(event, handler)
    },
    onError (listener) {
      errorListeners.add(listener)
      return () => { errorListeners.delete(listener) }
    },
    close () {
      source.close()
    }
  }
}

/** The reset notice a topic gets when its position cannot be served (`<topic>.reset`). */
export interface TopicResetNotice {
  reason: 'malformed' | 'epoch' | 'trimmed' | 'ahead' | 'limit' | 'lost'
  /** The topic's position the client held (`<epoch>:<offset>`), or null when it held none usable. */
  lastEventId: string | null
  /** The topic's new position: live events continue after it. */
  head: string
}

export interface TopicsClientOptions<Name extends string = string> extends SseClientOptions {
  /** The topics to subscribe to, sent as the `topics` query parameter. */
  topics: readonly Name[]
  /** Query parameter of the topic list. Default `topics`. */
  topicsParam?: string
  /** Query parameter that carries the cursor when the set changes (the plugin's `lastEventIdQuery`). Default `lastEventId`. */
  lastEventIdParam?: string
  /** The reset notice's event name, as the streams declare it. Default `reset`. */
  resetEvent?: string
}

/** A message of a many-topic stream: which topic and event it is. */
export interface TopicMessageLike extends MessageEventLike {
  readonly topic: string
  readonly event: string
  /**
   * This topic's own position after the message (`<epoch>:<offset>`, as its stream's ids and
   * `head()` read), from its entry of the cursor; '' if the cursor has none.
   */
  readonly position: string
}

export interface TopicsClient<Topics, Provider = unknown> {
  /** Calls `listener` with the parsed data of each `event` of `topic`. Returns a function that removes it. */
  on: <Topic extends keyof Topics & string, Name extends keyof Topics[Topic] & string>(
    topic: Topic,
    event: Name,
    listener: (data: ClientEventData<Topics[Topic], Provider>[Name], message: TopicMessageLike) => void
  ) => () => void
  /** Calls `listener` with each reset notice of `topic`: its state must be fetched again. */
  onReset: <Topic extends keyof Topics & string>(topic: Topic, listener: (notice: TopicResetNotice, message: TopicMessageLike) => void) => () => void
  /** Connection failures, unparsable data and the server's `error` events. */
  onError: (listener: (error: SseClientError) => void) => () => void
  /**
   * Changes the set: reconnects with `topics`, passing the cursor of the last event received,
   * so the topics still asked for keep their positions, new ones start at their head, and
   * the others are forgotten. Listeners stay registered.
   */
  setTopics: (topics: ReadonlyArray<keyof Topics & string>) => void
  /** The topics asked for now. */
  readonly topics: ReadonlyArray<keyof Topics & string>
  /** The cursor of the last event received ('' before the first). */
  readonly lastEventId: string
  close: () => void
  /** The EventSource of the current set (a new one after setTopics); with `share`, one shaped like it for the group's connection. */
  readonly source: EventSourceLike
  /**
   * With `share`: `leader` (this tab holds the connection, which carries every topic the group's
   * tabs ask for), `follower` (another tab does); `off`: a connection of its own.
   */
  readonly sharing: ShareRole
}

/**
 * One EventSource carrying several topics (`reply.sse.subscribeTopics()` on the server),
 * with listeners typed per topic by each topic's event map:
 *
 *     import type { dashboardEvents, bellEvents } from './server/events'
 *     const client = createTopicsClient<{ dashboard: typeof dashboardEvents, bell: typeof bellEvents }>(
 *       '/events', { topics: ['dashboard', 'bell'] })
 *     client.on('bell', 'notification', (data) => bell.add(data.text))
 */
export function createTopicsClient<Topics, Provider = unknown> (
  url: string | URL, options: TopicsClientOptions<keyof Topics & string>
): TopicsClient<Topics, Provider> {
  const EventSourceImpl = options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource
  if (typeof EventSourceImpl !== 'function') {
    throw noEventSource('createTopicsClient')
  }
  const parse = options.parse ?? ((text: string) => JSON.parse(text) as unknown)
  const topicsParam = options.topicsParam ?? 'topics'
  const cursorParam = options.lastEventIdParam ?? 'lastEventId'
  const resetEvent = options.resetEvent ?? 'reset'
  const init = options.withCredentials === true ? { withCredentials: true } : undefined
  // Event type (`<topic>.<event>`) → its listeners; one EventSource listener per type.
  const listeners = new Map<string, Set<(message: TopicMessageLike) => void>>()
  const errorListeners = new Set<(error: SseClientError) => void>()
  let topics: ReadonlyArray<keyof Topics & string> = [...options.topics]
  let lastEventId = ''
  let closed = false

  const report = (error: SseClientError): void => {
    for (const listener of errorListeners) listener(error)
  }
  const dispatch = (raw: Partial<MessageEventLike>): void => {
    if (typeof raw.data !== 'string' || typeof raw.type !== 'string') return
    const message = raw as MessageEventLike
    lastEventId = message.lastEventId
    const dot = message.type.indexOf('.')
    const topic = message.type.slice(0, dot)
    const tagged = Object.assign(Object.create(null) as object, {
      type: message.type,
      data: message.data,
      lastEventId: message.lastEventId,
      topic,
      event: message.type.slice(dot + 1),
      // A shared connection carries the topics of every tab, and says in which order.
      position: positionIn(message.lastEventId, ((raw as { topics?: readonly string[] }).topics ?? topics).indexOf(topic))
    }) as TopicMessageLike
    for (const listener of listeners.get(message.type) ?? []) listener(tagged)
  }
  const onServerError = (event: Partial<MessageEventLike>): void => {
    if (typeof event.data !== 'string') return report({ type: 'connection', event })
    try {
      report({ type: 'server', data: parse(event.data, 'error') })
    } catch (error) {
      report({ type: 'parse', event: 'error', data: event.data, error })
    }
  }
  const share = options.share === true ? {} : options.share
  let shared: SharedSource | null = null
  const connect = (): EventSourceLike => {
    let es: EventSourceLike
    if (typeof share === 'object' && share !== null && canShare()) {
      // The group's connection carries every topic its tabs ask for, and keeps its own cursor.
      es = shared = sharedEventSource(url, (href) => new EventSourceImpl(href, init), {
        lastEventIdQuery: cursorParam, ...share, withCredentials: init !== undefined, topics, topicsParam
      })
    } else {
      const base = (globalThis as { location?: { href: string } }).location?.href
      const target = new URL(String(url), base)
      target.searchParams.set(topicsParam, topics.join(','))
      // A cursor in the URL as given (e.g. a position taken with a snapshot) holds until an event brings a newer one.
      if (lastEventId !== '') target.searchParams.set(cursorParam, lastEventId)
      es = new EventSourceImpl(target.href, init)
    }
    es.addEventListener('error', onServerError)
    for (const type of listeners.keys()) es.addEventListener(type, dispatch)
    return es
  }
  let source = connect()

  const listen = (type: string, listener: (message: TopicMessageLike) => void): () => void => {
    let set = listeners.get(type)
    if (set === undefined) {
      listeners.set(type, (set = new Set()))
      source.addEventListener(type, dispatch)
    }
    // One wrapper per registration, so the same function registered twice is removed once per call.
    const entry = (message: TopicMessageLike): void => listener(message)
    set.add(entry)
    return () => { set.delete(entry) }
  }
  const decoded = (message: TopicMessageLike): { ok: true, value: unknown } | { ok: false } => {
    try {
      return { ok: true, value: parse(message.data, message.type) }
    } catch (error) {
      report({ type: 'parse', event: message.type, data: message.data, error })
      return { ok: false }
    }
  }

  return {
    get source () { return source },
    get topics () { return topics },
    get lastEventId () { return lastEventId },
    get sharing () { return shared === null ? 'off' : shared.role },
    on (topic, event, listener) {
      return listen(`${topic}.${event}`, (message) => {
        const result = decoded(message)
        if (result.ok) listener(result.value as never, message)
      })
    },
    onReset (topic, listener) {
      return listen(`${topic}.${resetEvent}`, (message) => {
        const result = decoded(message)
        if (result.ok) listener(result.value as TopicResetNotice, message)
      })
    },
    onError (listener) {
      errorListeners.add(listener)
      return () => { errorListeners.delete(listener) }
    },
    setTopics (next) {
      if (closed) return
      topics = [...next]
      if (shared !== null) return shared.setTopics(topics)
      source.close()
      source = connect()
    },
    close () {
      closed = true
      source.close()
    }
  }
}

// A plain TypeError with the code: the browser side loads no server code, @fastify/error included.
function noEventSource (caller: string): TypeError {
  return Object.assign(new TypeError(`${caller}: no EventSource in this environment; pass one as options.EventSource`), { code: 'FST_SSE_NO_EVENTSOURCE' })
}

/** A topic's `<epoch>:<offset>` from its entry of a cursor: the server lists topics in the order they were asked for. */
function positionIn (cursor: string, index: number): string {
  const entry = index === -1 ? undefined : cursor.split(',')[index]
  const dot = entry === undefined ? -1 : entry.lastIndexOf('.')
  if (entry === undefined || dot < 12) return ''
  return entry.slice(6, dot) + ':' + String(parseInt(entry.slice(dot + 1), 36))
}
