import createError from '@fastify/error'

// Every error the plugin raises carries a stable `code`, so applications can branch on it
// and logs can be searched for it, the way Fastify's own errors work.

export const FST_SSE_INVALID_OPTION = createError(
  'FST_SSE_INVALID_OPTION', 'Invalid fastify-typed-sse option: %s', 500, TypeError)

export const FST_SSE_INVALID_SOURCE = createError(
  'FST_SSE_INVALID_SOURCE', 'reply.sse() expects an async iterable, an iterable or a function returning one; got %s', 500, TypeError)

export const FST_SSE_ALREADY_STARTED = createError(
  'FST_SSE_ALREADY_STARTED', 'An event stream was already started on this reply', 500)

export const FST_SSE_HEADERS_SENT = createError(
  'FST_SSE_HEADERS_SENT', 'Cannot start an event stream: the response headers were already sent', 500)

export const FST_SSE_INVALID_EVENT = createError(
  'FST_SSE_INVALID_EVENT', 'Invalid event item: %s', 500, TypeError)

export const FST_SSE_EVENT_TOO_LARGE = createError(
  'FST_SSE_EVENT_TOO_LARGE', 'Encoded event is %d bytes, over the %d-byte limit (maxEventBytes)', 500, RangeError)

export const FST_SSE_SERIALIZE = createError(
  'FST_SSE_SERIALIZE', 'Could not serialize event data: %s', 500)

export const FST_SSE_PRODUCER = createError(
  'FST_SSE_PRODUCER', 'The event producer failed: %s', 500)

export const FST_SSE_INVALID_RETRY = createError(
  'FST_SSE_INVALID_RETRY', 'Invalid event item: retry must be a non-negative safe integer (milliseconds); got %s', 500, RangeError)

export const FST_SSE_REPLAY_ID = createError(
  'FST_SSE_REPLAY_ID', 'Cannot publish %s: ids on replay streams are assigned by the store (move the value into data)', 500, TypeError)

export const FST_SSE_INVALID_KEY = createError(
  'FST_SSE_INVALID_KEY', 'Invalid stream key: %s', 500, TypeError)

export const FST_SSE_STORE_CLOSED = createError(
  'FST_SSE_STORE_CLOSED', 'The replay store is closed', 503)

export const FST_SSE_UNKNOWN_EVENT = createError(
  'FST_SSE_UNKNOWN_EVENT', 'Event "%s" is not in the event map (declared: %s)', 500, TypeError)

export const FST_SSE_INVALID_PAYLOAD = createError(
  'FST_SSE_INVALID_PAYLOAD', 'Invalid data for event "%s" at %s: %s', 500, TypeError)

export const FST_SSE_INVALID_SCHEMA = createError(
  'FST_SSE_INVALID_SCHEMA', 'Cannot compile the schema of event "%s": %s', 500, TypeError)

export const FST_SSE_STORE_TIMEOUT = createError(
  'FST_SSE_STORE_TIMEOUT', 'Replay store: %s timed out after %d ms', 503)

export const FST_SSE_STORE_UNAVAILABLE = createError(
  'FST_SSE_STORE_UNAVAILABLE', 'Replay store: %s failed: %s', 503)

export const FST_SSE_NOT_ACCEPTABLE = createError(
  'FST_SSE_NOT_ACCEPTABLE', 'This resource is an event stream (text/event-stream), which the request\'s Accept header does not accept: %s', 406)
