import type { OutgoingHttpHeaders } from 'node:http'
import type { FastifyReply } from 'fastify'

/**
 * The response head of an event stream: whatever the handler and the hooks (CORS, auth,
 * tracing) set through `reply.header()`, plus the headers streaming needs, which win.
 */
const CLOSE = /(?:^|,)\s*close\s*(?:,|$)/i

export function streamHeaders (reply: FastifyReply): OutgoingHttpHeaders {
  const headers = { ...reply.getHeaders() } as OutgoingHttpHeaders
  // A length or a content encoding would make every proxy and client buffer or mangle the stream.
  delete headers['content-length']
  delete headers['transfer-encoding']
  delete headers['content-encoding']
  headers['content-type'] = 'text/event-stream; charset=utf-8'
  // no-transform keeps compressing proxies (and @fastify/compress) away from the stream.
  headers['cache-control'] = 'no-cache, no-transform'
  // nginx buffers proxied responses unless told not to.
  headers['x-accel-buffering'] = 'no'
  // HTTP/2 forbids connection-specific headers; Node warns and drops them. On HTTP/1.x a client
  // that asked to close gets its way (an explicit keep-alive here would override it in Node).
  const raw = reply.request.raw
  if (raw.httpVersionMajor >= 2) delete headers.connection
  else if (!CLOSE.test(String(raw.headers.connection ?? ''))) headers.connection = 'keep-alive'
  return headers
}
