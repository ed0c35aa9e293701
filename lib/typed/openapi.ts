import type { RouteOptions } from 'fastify'
import type { EventMap } from './event-types.js'

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

type SwaggerTransform = (input: {
  schema: Record<string, any>
  url: string
  openapiObject?: { openapi?: string }
  swaggerObject?: { swagger?: string }
}) => { schema: Record<string, any>, url: string }

/**
 * Documents a route's events as its 200 response, for @fastify/swagger (or anything else that
 * reads route schemas). A 200 response the route already declares is left as it is, unless it
 * lists media types without this one. The route schema holds the OpenAPI 3.0/3.1 form; a
 * per-route `swaggerTransform` (@fastify/swagger's hook, which sees the document being built)
 * adapts it to 3.2 and to Swagger 2.0. A route with its own `swaggerTransform` keeps it.
 */
export function documentEvents (route: RouteOptions, events: EventMap): void {
  const schema = (route.schema ?? {}) as { response?: Record<string, unknown> }
  const response = schema.response ?? {}
  const ok = response['200'] as { content?: Record<string, unknown>, description?: string } | undefined
  if (ok !== undefined && (ok.content === undefined || ok.content[MEDIA_TYPE] !== undefined)) return
  const documented = ok === undefined
    ? { description: describeEvents(events), content: { [MEDIA_TYPE]: streamMediaType(events) } }
    : { ...ok, content: { ...ok.content, [MEDIA_TYPE]: streamMediaType(events) } }
  // Copies, never edits: route schemas are often shared between routes.
  route.schema = { ...schema, response: { ...response, 200: documented } }
  const config = (route.config ?? {}) as { swaggerTransform?: unknown }
  if (config.swaggerTransform !== undefined) return
  const transform: SwaggerTransform = ({ schema, url, openapiObject, swaggerObject }) => {
    if (swaggerObject !== undefined) return { schema: forSwagger2(schema, events), url }
    if (openapiObject?.openapi?.startsWith('3.2') === true) return { schema: forOpenApi32(schema), url }
    return { schema, url }
  }
  route.config = { ...config, swaggerTransform: transform } as typeof route.config
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

/** A value of the schema's shape, for examples: `examples`/`default`/`const`/`enum` when given, else a placeholder of its type. */
function sample (schema: unknown, depth = 0): unknown {
  if (schema === null || typeof schema !== 'object' || depth > 8) return null
  const s = schema as Record<string, any>
  if (Array.isArray(s.examples) && s.examples.length > 0) return s.examples[0]
  if ('default' in s) return s.default
  if ('const' in s) return s.const
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0]
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    if (Array.isArray(s[key]) && s[key].length > 0) return sample(s[key][0], depth + 1)
  }
  const type = Array.isArray(s.type) ? s.type[0] : s.type
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {}
      for (const [key, value] of Object.entries((s.properties ?? {}) as Record<string, unknown>)) out[key] = sample(value, depth + 1)
      return out
    }
    case 'array': return s.items === undefined ? [] : [sample(s.items, depth + 1)]
    case 'string': return 'string'
    case 'integer': return typeof s.minimum === 'number' ? Math.ceil(s.minimum) : 0
    case 'number': return typeof s.minimum === 'number' ? s.minimum : 0
    case 'boolean': return true
    default: return null
  }
}
