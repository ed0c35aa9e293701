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

export const FST_SSE_STREAM_CLOSED = createError(
  'FST_SSE_STREAM_CLOSED', 'The event stream is closed', 500)

export const FST_SSE_INVALID_RETRY = createError(
  'FST_SSE_INVALID_RETRY', 'Invalid event item: retry must be a non-negative safe integer (milliseconds); got %s', 500, RangeError)
