import dc from 'node:diagnostics_channel'

/**
 * Named `node:diagnostics_channel` channels, in the style of Fastify's and undici's: a tracer
 * or a metrics library subscribes to them; publishers check `hasSubscribers` first, so they
 * cost one property read when nobody listens (publish and fan-out are hot paths).
 */
export const diagnostics = {
  /** `{ request, reply, openStreams }`: an event stream started (its head was sent). */
  open: dc.channel('fastify-typed-sse:stream:open'),
  /** `{ request, reason, events, durationMs }`: an event stream ended, once per opened stream. */
  end: dc.channel('fastify-typed-sse:stream:end'),
  /** `{ stream, key, event, id }`: an event was stored by `publish()`. */
  publish: dc.channel('fastify-typed-sse:publish'),
  /** `{ key, events }`: a reconnecting client was sent what it missed. */
  replay: dc.channel('fastify-typed-sse:replay'),
  /** `{ key, reason }`: a reset notice was sent. */
  reset: dc.channel('fastify-typed-sse:reset'),
  /** `{ key, reason }`: a subscriber that did not read was disconnected (`overflow`, `stalled` or `budget`). */
  evict: dc.channel('fastify-typed-sse:evict')
}
