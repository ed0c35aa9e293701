import type { FastifyBaseLogger, RouteOptions } from 'fastify'
import { routeOption } from '../option-checks.js'
import { compileEvents, type EventMap, type EventOptions } from './event-pipeline.js'
import { documentEvents } from './openapi.js'
import type { ItemEncoder } from '../encode.js'
import type { Runtime } from '../runtime.js'

/** Per-route settings, given as the `sse` route option. */
export interface SseRouteOptions<Events extends EventMap = EventMap> extends EventOptions {
  /** The events this route emits: name → schema of `data`. Types the handler's items, validates and serializes them, documents the route. */
  events?: Events
  /** Another representation of this resource, e.g. `'application/json'`: the route serves both, and `reply.sse.accepted` tells which one the client prefers. */
  alternative?: string
  /** This route's stream lifetime, overriding the plugin's `maxConnectionMs`; `false` for none. */
  maxConnectionMs?: number | false
}

/** What the plugin prepares once per route at start-up, never per request. */
export interface CompiledRoute {
  /** The item pipeline of this route's streams. */
  encode: ItemEncoder
  /** The pipeline for one request, when it has something to log (skipped items): logged with the request's id. */
  encodeFor?: (requestLog: FastifyBaseLogger) => ItemEncoder
}

export const kRoute = Symbol('fastify-typed-sse.route')

/**
 * Compiles the `sse` route option; called from the plugin's onRoute hook. A route with events
 * also gets them documented as its response schema.
 */
export function compileRoute (options: SseRouteOptions, runtime: Runtime, route: RouteOptions, log?: FastifyBaseLogger): CompiledRoute {
  const name = `${String(route.method)} ${route.url}`
  const invalid = routeOption(name)
  if (options === null || typeof options !== 'object') throw invalid('sse must be an object')
  const events = options.events
  const pipeline = compileEvents(events, { ...options, log: events === undefined ? log : log?.child({ route: name }) }, runtime.options.serializer,
    { where: `route ${name}`, invalid })
  if (events !== undefined && pipeline.schemas !== undefined) documentEvents(route, pipeline.schemas)
  const encodeWith = pipeline.encodeWith
  if (encodeWith === undefined) return { encode: pipeline.encode }
  return { encode: pipeline.encode, encodeFor: (requestLog) => encodeWith(requestLog.child({ route: name })) }
}
