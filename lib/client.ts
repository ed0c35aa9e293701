import type { Static, TSchema } from '@sinclair/typebox'

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
 * The data type of each event, from the server's event map (TypeBox schemas, via
 * `import type`) or from a plain map of data types.
 */
export type ClientEventData<Events> = {
  // `infer … extends` rather than a plain conditional: TypeScript cannot bound Static<> over an unconstrained map otherwise.
  [Name in keyof Events]: Events[Name] extends infer Schema extends TSchema ? Static<Schema> : Events[Name]
}

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

export interface SseClient<Events> {
  /** Calls `listener` with the parsed data of each `event` event. Returns a function that removes it. */
  on: <Name extends keyof Events & string>(
    event: Name,
    listener: (data: ClientEventData<Events>[Name], message: MessageEventLike) => void
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
export function createSseClient<Events> (url: string | URL, options: SseClientOptions = {}): SseClient<Events> {
  const EventSourceImpl = options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource
  if (typeof EventSourceImpl !== 'function') {
    throw new TypeError('createSseClient: no EventSource in this environment; pass one as options.EventSource')
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
        if (result.ok) listener(result.value as ClientEventData<Events>[typeof event], message as MessageEventLike)
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
