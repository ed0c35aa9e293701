import type { RouteOptions } from 'fastify'
import type { EventMap } from './event-types.js'

const MEDIA_TYPE = 'text/event-stream'

/**
 * The OpenAPI 3.2 description of one event stream: `itemSchema` describes each event of the
 * sequential media type, one `oneOf` branch per event name. `data` is a string on the wire,
 * so each branch gives its schema as the content of that JSON string, the way the
 * specification's own SSE example does.
 */
function streamMediaType (events: EventMap): Record<string, unknown> {
  const branches = Object.entries(events).map(([name, schema]) => ({
    type: 'object',
    properties: {
      event: { const: name },
      data: { type: 'string', contentMediaType: 'application/json', contentSchema: plain(schema) }
    },
    // The default event goes out without an event line.
    required: name === 'message' ? ['data'] : ['event', 'data']
  }))
  return {
    // Fastify and @fastify/swagger both want a `schema` next to every media type.
    schema: { type: 'string' },
    itemSchema: {
      type: 'object',
      properties: {
        event: { type: 'string' },
        data: { type: 'string' },
        id: { type: 'string' },
        retry: { type: 'integer', minimum: 0 }
      },
      oneOf: branches
    }
  }
}

/**
 * Documents a route's events as its 200 response, for @fastify/swagger (or anything else that
 * reads route schemas). A 200 response the route already declares is left as it is, unless it
 * lists media types without this one.
 */
export function documentEvents (route: RouteOptions, events: EventMap): void {
  const schema = (route.schema ?? {}) as { response?: Record<string, unknown> }
  const response = schema.response ?? {}
  const ok = response['200'] as { content?: Record<string, unknown> } | undefined
  if (ok !== undefined && (ok.content === undefined || ok.content[MEDIA_TYPE] !== undefined)) return
  const documented = ok === undefined
    ? { description: 'An event stream', content: { [MEDIA_TYPE]: streamMediaType(events) } }
    : { ...ok, content: { ...ok.content, [MEDIA_TYPE]: streamMediaType(events) } }
  // Copies, never edits: route schemas are often shared between routes.
  route.schema = { ...schema, response: { ...response, 200: documented } }
}

/** A JSON copy: drops TypeBox's symbol keys and keeps the document from sharing the route's objects. */
function plain (schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema))
}
