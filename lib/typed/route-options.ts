import type { FastifyBaseLogger, RouteOptions } from 'fastify'
import { FST_SSE_INVALID_OPTION } from '../errors.js'
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
  if (options === null || typeof options !== 'object') {
    throw new FST_SSE_INVALID_OPTION(`route ${name}: sse must be an object`)
  }
  const events = options.events
  let pipeline
  try {
    pipeline = compileEvents(events, { ...options, log: events === undefined ? log : log?.child({ route: name }) }, runtime.options.serializer)
  } catch (err) {
    // Name the route: start-up errors are read far from the declaration that caused them.
    (err as Error).message = `route ${name}: ${(err as Error).message}`
    throw err
  }
  if (events !== undefined) documentEvents(route, events)
  const encodeWith = pipeline.encodeWith
  if (encodeWith === undefined) return { encode: pipeline.encode }
  return { encode: pipeline.encode, encodeFor: (requestLog) => encodeWith(requestLog.child({ route: name })) }
}
