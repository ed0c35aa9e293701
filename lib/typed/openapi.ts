import type { RouteOptions } from 'fastify'
import type { EventMap } from './event-types.js'
import { sample } from './sample.js'
import { transformBefore, type SwaggerTransform } from './swagger-compose.js'

const MEDIA_TYPE = 'text/event-stream'
/** Where OpenAPI 3.0 and 3.1 (which have no `itemSchema`) and Swagger 2.0 carry the item schema. */
export const ITEM_SCHEMA_EXTENSION = 'x-sse-item-schema'

/**
 * The schema of each event of the stream, one `oneOf` branch per event name: OpenAPI 3.2's
 * `itemSchema` of a sequential media type. `data` is a string on the wire, so each branch
 * gives its schema as the content of that JSON string, the way the specification's own SSE
 * example does.
 */
function itemSchema (events: EventMap): Record<string, unknown> {
  return {
    type: 'object',
    properties: {
      event: { type: 'string' },
      data: { type: 'string' },
      id: { type: 'string' },
      retry: { type: 'integer', minimum: 0 }
    },
    oneOf: Object.entries(events).map(([name, schema]) => ({
      type: 'object',
      properties: {
        event: { const: name },
        data: { type: 'string', contentMediaType: 'application/json', contentSchema: plain(schema) }
      },
      // The default event goes out without an event line.
      required: name === 'message' ? ['data'] : ['event', 'data']
    }))
  }
}

/** A readable list of the events for the response's description: what documentation viewers show first. */
function describeEvents (events: EventMap): string {
  const lines = Object.entries(events).map(([name, schema]) => `- \`${name}\`: data \`${JSON.stringify(sample(schema))}\``)
  return `An event stream (text/event-stream). Events:\n${lines.join('\n')}`
}

/** One event of each kind, framed as the route sends them. */
function exampleStream (events: EventMap): string {
  return Object.entries(events)
    .map(([name, schema]) => `${name === 'message' ? '' : `event: ${name}\n`}data: ${JSON.stringify(sample(schema))}\n\n`)
    .join('')
}

/**
 * The media type every OpenAPI 3 version accepts: the body is a string, the events are in the
 * `x-sse-item-schema` extension and in an example stream. 3.2 documents get `itemSchema` in its
 * place (see documentEvents).
 */
function streamMediaType (events: EventMap): Record<string, unknown> {
  return { schema: { type: 'string' }, [ITEM_SCHEMA_EXTENSION]: itemSchema(events), example: exampleStream(events) }
}

/**
 * Documents a route's events as its 200 response, for @fastify/swagger: through the route's
 * `swaggerTransform` (@fastify/swagger's per-route hook, which sees the document being built),
 * never in the route schema itself, where the instance's serializer compiler would be asked to
 * compile it (and a Zod serializer compiler refuses what is not a Zod schema). The transform
 * first runs what it displaces (see swagger-compose.ts), then adds the stream in the form of
 * the document's version: OpenAPI 3.0/3.1 (extension), 3.2 (`itemSchema`), Swagger 2.0. A 200
 * response the route already declares is left as it is, unless it lists media types without
 * this one. `events`: the JSON Schema of each event's data.
 */
export function documentEvents (route: RouteOptions, events: EventMap): void {
  const config = (route.config ?? {}) as { swaggerTransform?: unknown }
  const before = transformBefore(config.swaggerTransform)
  const transform: SwaggerTransform = (input) => {
    const first = before(input) ?? {}
    const url = first.url ?? input.url
    const schema = first.schema ?? input.schema ?? {}
    if (schema.hide === true) return { schema, url }
    const documented = withStream(schema, events)
    if (documented === undefined) return { schema, url }
    if (input.swaggerObject !== undefined) return { schema: forSwagger2(documented, events), url }
    if (input.openapiObject?.openapi?.startsWith('3.2') === true) return { schema: forOpenApi32(documented), url }
    return { schema: documented, url }
  }
  // Copies, never edits: route options may be shared between routes.
  route.config = { ...config, swaggerTransform: transform } as typeof route.config
}

/** The schema with the stream as its 200 response (OpenAPI 3.0/3.1 form), or undefined when the route documents its own. */
function withStream (schema: Record<string, any>, events: EventMap): Record<string, any> | undefined {
  const response = (schema.response ?? {}) as Record<string, unknown>
  const ok = response['200'] as { content?: Record<string, unknown>, description?: string } | undefined
  if (ok !== undefined && (ok.content === undefined || ok.content[MEDIA_TYPE] !== undefined)) return undefined
  const documented = ok === undefined
    ? { description: describeEvents(events), content: { [MEDIA_TYPE]: streamMediaType(events) } }
    : { ...ok, content: { ...ok.content, [MEDIA_TYPE]: streamMediaType(events) } }
  return { ...schema, response: { ...response, 200: documented } }
}

/** OpenAPI 3.2: the item schema moves to the `itemSchema` field made for it. */
function forOpenApi32 (schema: Record<string, any>): Record<string, any> {
  const ok = schema.response[200]
  const { [ITEM_SCHEMA_EXTENSION]: items, example, ...media } = ok.content[MEDIA_TYPE]
  return {
    ...schema,
    response: { ...schema.response, 200: { ...ok, content: { ...ok.content, [MEDIA_TYPE]: { ...media, itemSchema: items, example } } } }
  }
}

/**
 * Swagger 2.0 has no media types in responses: @fastify/swagger makes the whole response entry
 * its `schema`, so the entry becomes a string schema carrying the item schema as an extension
 * and the example stream as the schema's example (what swagger-ui shows as "Example Value").
 * The operation's `produces` names the media type, so swagger-ui does not offer JSON.
 */
function forSwagger2 (schema: Record<string, any>, events: EventMap): Record<string, any> {
  const ok = schema.response[200]
  const media = ok.content[MEDIA_TYPE]
  const produces: unknown[] = Array.isArray(schema.produces) ? schema.produces : []
  return {
    ...schema,
    produces: produces.includes(MEDIA_TYPE) ? produces : [...produces, MEDIA_TYPE],
    response: {
      ...schema.response,
      200: {
        type: 'string',
        description: ok.description ?? describeEvents(events),
        [ITEM_SCHEMA_EXTENSION]: media[ITEM_SCHEMA_EXTENSION],
        example: media.example
      }
    }
  }
}

/** A JSON copy: drops TypeBox's symbol keys and keeps the document from sharing the route's objects. */
function plain (schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema))
}
