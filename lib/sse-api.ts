import type { SseItem } from './encode.js'
import type { CoreOptions } from './options.js'
import type { SseFanout, SubscribeFunction, SubscribeTopicsFunction } from './replay/fanout.js'
import type { ReplayStore } from './stores/types.js'
import type { SseResult, SseSource, SseStream } from './stream.js'

// The public shapes of the plugin: what register() takes, `reply.sse` and `fastify.sse`. They
// span every layer (streams, typed routes, replay), so they sit above all of them, where both
// the plugin and the declarations it adds to Fastify's types can import them.

export interface SsePluginOptions extends CoreOptions {
  /**
   * Where replay streams keep their history and how events reach every subscriber (and every
   * process, for a shared store). Default: a `memoryStore()`, closed with the app; a store
   * passed here is the application's to close.
   */
  store?: ReplayStore
}

/** `reply.sse`: start a stream from a source, or open one to push to. */
export interface SseReply<Item = SseItem> {
  /**
   * Streams the items of `source` (an async iterable, an iterable, or a function of
   * `{ signal, lastEventId, request, reply }` returning one). Settles when the stream is over;
   * return it from the handler.
   */
  (source: SseSource<Item>): Promise<SseResult>
  /** Opens a stream the application pushes to with `send()`. */
  open: () => SseStream<Item>
  /**
   * Subscribes this client to a stream (declared with `fastify.sse.stream()`, or a name):
   * replays what it missed since its `Last-Event-ID`, or sends a reset notice when that cannot
   * be done, then delivers live events. Resolves once the client is live; never rejects.
   */
  subscribe: SubscribeFunction
  /**
   * Subscribes this client to several streams over this one response, each under a topic
   * name: `event: <topic>.<event>`, and an `id:` that holds every topic's position, so the
   * browser's own reconnect resumes each topic (or sends it its reset notice). Rejects before
   * any byte is sent for a topic the client may not read (403) or that is not in the map
   * (404); once the stream has started it never rejects.
   */
  subscribeTopics: SubscribeTopicsFunction
  /** The client's `Last-Event-ID` (header, else the query parameter), UTF-8 decoded; undefined when absent or invalid. */
  readonly lastEventId: string | undefined
  /**
   * Whether this request should get the event stream. On a route with `sse.alternative` (a dual
   * route), true only when the client's `Accept` prefers `text/event-stream` to the alternative
   * (`EventSource` does; `fetch()`'s and curl's `*\/*` and no header do not). Elsewhere, whether
   * the client accepts an event stream at all; starting one when it does not fails with
   * `FST_SSE_NOT_ACCEPTABLE` (406).
   */
  readonly accepted: boolean
  /**
   * Ends the stream at `at` (a Date or epoch milliseconds), e.g. when the credentials it was
   * opened with expire, with the `reconnectMs` hint: the client reconnects and authenticates
   * again. Call it before or after the stream starts; the earliest time given wins.
   */
  expireAt: (at: Date | number) => void
}

/** `fastify.sse`: the plugin instance's view of its streams. */
export interface SseServer<Provider = unknown> extends SseFanout<Provider> {
  /** Streams open right now. */
  readonly openStreams: number
}
