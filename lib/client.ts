import type { WireOf } from './typed/event-types.js'

// The browser side: typed listeners over EventSource. Type imports only, so this file
// compiles to code that loads nothing (no server code, no TypeBox).

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
  readonly source: EventSourceLike
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
    // A plain TypeError with the code: the browser side loads no server code, @fastify/error included.
    throw Object.assign(new TypeError('createSseClient: no EventSource in this environment; pass one as options.EventSource'), { code: 'FST_SSE_NO_EVENTSOURCE' })
  }
  const parse = options.parse ?? ((text: string) => JSON.parse(text) as unknown)
  const source = new EventSourceImpl(url, options.withCredentials === true ? { withCredentials: true } : undefined)
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
