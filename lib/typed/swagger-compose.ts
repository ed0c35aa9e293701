import { jsonSchemaOf } from './json-schema-of.js'
import { requirePeer } from './peer-require.js'
import { isStandardSchema } from './schema-kind.js'

// What a route's documentation goes through before its events are added. @fastify/swagger
// calls a route's own `swaggerTransform` in place of the document-wide `transform`, so the
// events' transform must do the work of the one it displaces: the route's own transform when
// it has one; for a route with Zod schemas, fastify-type-provider-zod's `jsonSchemaTransform`
// (what its users give @fastify/swagger); else a conversion of any Standard Schema among the
// request parts and responses. The document-wide transform itself is out of reach: @fastify/swagger
// keeps it private.

export interface SwaggerInput {
  schema?: Record<string, any>
  url: string
  route?: unknown
  openapiObject?: { openapi?: string }
  swaggerObject?: { swagger?: string }
}
export interface SwaggerOutput { schema?: Record<string, any>, url?: string }
export type SwaggerTransform = (input: SwaggerInput) => SwaggerOutput

const REQUEST_PARTS = ['params', 'querystring', 'headers', 'body'] as const

/** The transform the events' own must run first: `own` is the route's `config.swaggerTransform`. */
export function transformBefore (own: unknown): SwaggerTransform {
  if (typeof own === 'function') return own as SwaggerTransform
  if (own === false) return ({ schema, url }) => ({ schema, url }) // the route asked for its schema as written
  return (input) => {
    const schema = input.schema
    if (schema === undefined || !hasStandardSchema(schema)) return { schema, url: input.url }
    // The provider's transform refuses Swagger 2.0 documents outright.
    if (input.swaggerObject === undefined && hasZod(schema)) {
      const provider = zodProviderTransform()
      if (provider !== undefined) return provider(input)
    }
    return { schema: convertStandard(schema), url: input.url }
  }
}

let zodTransform: SwaggerTransform | null | undefined
function zodProviderTransform (): SwaggerTransform | undefined {
  if (zodTransform === undefined) {
    try {
      zodTransform = (requirePeer('fastify-type-provider-zod') as { jsonSchemaTransform: SwaggerTransform }).jsonSchemaTransform
    } catch {
      zodTransform = null
    }
  }
  return zodTransform ?? undefined
}

function partsOf (schema: Record<string, any>): unknown[] {
  const parts: unknown[] = REQUEST_PARTS.map((part) => schema[part])
  for (const response of Object.values((schema.response ?? {}) as Record<string, any>)) {
    parts.push(response)
    if (response !== null && typeof response === 'object' && response.content !== null && typeof response.content === 'object') {
      for (const media of Object.values(response.content as Record<string, any>)) parts.push(media?.schema)
    }
  }
  return parts
}

function hasStandardSchema (schema: Record<string, any>): boolean {
  return partsOf(schema).some(isStandardSchema)
}

function hasZod (schema: Record<string, any>): boolean {
  return partsOf(schema).some((part) => isStandardSchema(part) && (part as { '~standard': { vendor: unknown } })['~standard'].vendor === 'zod')
}

/** A copy of the route schema with each Standard Schema as JSON Schema: request parts as they are accepted, responses as they are sent. */
function convertStandard (schema: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = { ...schema }
  for (const part of REQUEST_PARTS) {
    if (isStandardSchema(out[part])) out[part] = converted(out[part], 'input')
  }
  if (out.response !== null && typeof out.response === 'object') {
    const response: Record<string, any> = {}
    for (const [status, entry] of Object.entries(out.response as Record<string, any>)) {
      if (isStandardSchema(entry)) {
        response[status] = converted(entry, 'output')
      } else if (entry !== null && typeof entry === 'object' && entry.content !== null && typeof entry.content === 'object') {
        const content: Record<string, any> = {}
        for (const [type, media] of Object.entries(entry.content as Record<string, any>)) {
          content[type] = isStandardSchema(media?.schema) ? { ...media, schema: converted(media.schema, 'output') } : media
        }
        response[status] = { ...entry, content }
      } else {
        response[status] = entry
      }
    }
    out.response = response
  }
  return out
}

function converted (schema: object, io: 'input' | 'output'): Record<string, unknown> {
  const result = jsonSchemaOf(schema, io)
  return 'schema' in result ? result.schema : {}
}
