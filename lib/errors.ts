import createError from '@fastify/error'

// Every error the plugin raises carries a stable `code`, so applications can branch on it
// and logs can be searched for it, the way Fastify's own errors work.

/** An error raised by the plugin: `code` is stable across versions. */
export interface SseError<Code extends string = string, Status extends number = number> extends Error {
  code: Code
  name: string
  statusCode: Status
}

/** The class of one coded error: `new X(…)` or `X(…)`, and `err instanceof X`. */
export interface SseErrorConstructor<Code extends string = string, Status extends number = number> {
  new (...args: any[]): SseError<Code, Status>
  (...args: any[]): SseError<Code, Status>
  readonly prototype: SseError<Code, Status>
}

/**
 * `createError` under a type of our own: the one TypeScript would infer names the `createError`
 * namespace of @fastify/error (`export =`), which a default import does not bring under
 * `moduleResolution: bundler`, so the published declarations would not compile there.
 */
function coded<Code extends string, Status extends number> (
  code: Code, message: string, statusCode: Status, Base?: ErrorConstructor | SseErrorConstructor
): SseErrorConstructor<Code, Status> {
  return createError(code, message, statusCode, Base as ErrorConstructor | undefined) as SseErrorConstructor<Code, Status>
}

// Options. Each options object has its own code, so an application can tell a bad route
// declaration from a bad store setup; every one of them is also `instanceof
// FST_SSE_INVALID_OPTION` (and of `TypeError`), so one check still catches them all.

/** `app.register(sse, options)`; the base class of every option error below. */
export const FST_SSE_INVALID_OPTION = coded(
  'FST_SSE_INVALID_OPTION', 'Invalid fastify-typed-sse option: %s', 500, TypeError)

/** A route's `sse` option: `%s` are the route (`GET /jobs`) and what is wrong. */
export const FST_SSE_INVALID_ROUTE_OPTION = coded(
  'FST_SSE_INVALID_ROUTE_OPTION', 'Invalid sse option of route %s: %s', 500, FST_SSE_INVALID_OPTION)

/** `fastify.sse.stream(name, options)`: `%s` are the stream's name and what is wrong. */
export const FST_SSE_INVALID_STREAM_OPTION = coded(
  'FST_SSE_INVALID_STREAM_OPTION', 'Invalid option of stream %s: %s', 500, FST_SSE_INVALID_OPTION)

/** `memoryStore()`, `redisStore()`: `%s` are the store and what is wrong. */
export const FST_SSE_INVALID_STORE_OPTION = coded(
  'FST_SSE_INVALID_STORE_OPTION', 'Invalid %s option: %s', 500, FST_SSE_INVALID_OPTION)

/** `reply.sse.subscribe(stream, options)`. */
export const FST_SSE_INVALID_SUBSCRIBE_OPTION = coded(
  'FST_SSE_INVALID_SUBSCRIBE_OPTION', 'Invalid subscribe option: %s', 500, FST_SSE_INVALID_OPTION)

/** `fastify.sse.publish(stream, item, options)`. */
export const FST_SSE_INVALID_PUBLISH_OPTION = coded(
  'FST_SSE_INVALID_PUBLISH_OPTION', 'Invalid publish option: %s', 500, FST_SSE_INVALID_OPTION)

// Starting a stream on a reply.

export const FST_SSE_NOT_ACCEPTABLE = coded(
  'FST_SSE_NOT_ACCEPTABLE', 'This resource is an event stream (text/event-stream), which the request\'s Accept header does not accept: %s', 406)

export const FST_SSE_INVALID_SOURCE = coded(
  'FST_SSE_INVALID_SOURCE', 'reply.sse() expects an async iterable, an iterable or a function returning one; got %s', 500, TypeError)

export const FST_SSE_ALREADY_STARTED = coded(
  'FST_SSE_ALREADY_STARTED', 'An event stream was already started on this reply', 500)

export const FST_SSE_HEADERS_SENT = coded(
  'FST_SSE_HEADERS_SENT', 'Cannot start an event stream: the response headers were already sent', 500)

// Encoding: an item the wire format cannot carry as it is, and producers that fail.

export const FST_SSE_INVALID_EVENT = coded(
  'FST_SSE_INVALID_EVENT', 'Invalid event item: %s', 500, TypeError)

export const FST_SSE_INVALID_RETRY = coded(
  'FST_SSE_INVALID_RETRY', 'Invalid event item: retry must be a non-negative safe integer (milliseconds); got %s', 500, RangeError)

export const FST_SSE_EVENT_TOO_LARGE = coded(
  'FST_SSE_EVENT_TOO_LARGE', 'Encoded event is %d bytes, over the %d-byte limit (maxEventBytes)', 500, RangeError)

export const FST_SSE_SERIALIZE = coded(
  'FST_SSE_SERIALIZE', 'Could not serialize event data: %s', 500)

export const FST_SSE_PRODUCER = coded(
  'FST_SSE_PRODUCER', 'The event producer failed: %s', 500)

// Typed routes and streams: the event map and the items checked against it.

export const FST_SSE_UNKNOWN_EVENT = coded(
  'FST_SSE_UNKNOWN_EVENT', 'Event "%s" is not in the event map (declared: %s)', 500, TypeError)

export const FST_SSE_INVALID_PAYLOAD = coded(
  'FST_SSE_INVALID_PAYLOAD', 'Invalid data for event "%s" at %s: %s', 500, TypeError)

/** `%s` are the event, where it is declared (`route GET /jobs`, `stream jobs`) and why. */
export const FST_SSE_INVALID_SCHEMA = coded(
  'FST_SSE_INVALID_SCHEMA', 'Cannot compile the schema of event "%s" of %s: %s', 500, TypeError)

// Replay streams and their keys.

export const FST_SSE_REPLAY_ID = coded(
  'FST_SSE_REPLAY_ID', 'Cannot publish %s: ids on replay streams are assigned by the store (move the value into data)', 500, TypeError)

export const FST_SSE_INVALID_KEY = coded(
  'FST_SSE_INVALID_KEY', 'Invalid stream key: %s', 500, TypeError)

// Many-topic streams: what a client asks for, answered before any byte is sent.

/** `%s` is the topic name the client asked for. */
export const FST_SSE_UNKNOWN_TOPIC = coded(
  'FST_SSE_UNKNOWN_TOPIC', 'Unknown topic %s', 404)

/** `%s` is the topic name whose `authorize` answered false. */
export const FST_SSE_TOPIC_FORBIDDEN = coded(
  'FST_SSE_TOPIC_FORBIDDEN', 'Topic %s is not readable by this request', 403)

/** The list of topics itself is unusable (empty, too long, not a list). */
export const FST_SSE_INVALID_TOPICS = coded(
  'FST_SSE_INVALID_TOPICS', 'Invalid list of topics: %s', 400)

// Stores. The 503s are transient: the store may answer again; the others are programming errors.

export const FST_SSE_STORE_CLOSED = coded(
  'FST_SSE_STORE_CLOSED', 'The replay store is closed', 503)

export const FST_SSE_STORE_TIMEOUT = coded(
  'FST_SSE_STORE_TIMEOUT', 'Replay store: %s timed out after %d ms', 503)

export const FST_SSE_STORE_UNAVAILABLE = coded(
  'FST_SSE_STORE_UNAVAILABLE', 'Replay store: %s failed: %s', 503)

/**
 * The Redis user lacks an ACL permission the store needs: `%s` are the call and the commands
 * refused. `cause` is Redis's own NOPERM reply when Redis sent one. 503 like the others: it
 * lasts until the ACL is fixed, and nothing was stored.
 */
export const FST_SSE_STORE_NOPERM = coded(
  'FST_SSE_STORE_NOPERM', 'Replay store: %s needs the Redis ACL permission to run %s', 503)

/** A store that breaks its contract (a custom one, usually): `%s` are the call and what it returned. */
export const FST_SSE_STORE_MALFORMED = coded(
  'FST_SSE_STORE_MALFORMED', 'Replay store: %s returned %s, which is not an event id', 500)

/** A store method called directly with what it does not take: `%s` are the call and what is wrong. */
export const FST_SSE_INVALID_STORE_ARGUMENT = coded(
  'FST_SSE_INVALID_STORE_ARGUMENT', 'Invalid argument to %s: %s', 500, TypeError)

// Connections and their lifetime.

export const FST_SSE_INVALID_EXPIRY = coded(
  'FST_SSE_INVALID_EXPIRY', 'reply.sse.expireAt() expects a Date or epoch milliseconds; got %s', 500, TypeError)

// Testing helpers.

export const FST_SSE_INJECT_TIMEOUT = coded(
  'FST_SSE_INJECT_TIMEOUT', 'injectEvents: %d of %d events after %d ms', 500)
