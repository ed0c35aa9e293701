import type { RouteOptions } from 'fastify'
import { FST_SSE_INVALID_OPTION } from './errors.js'
import { compileEvents, type EventMap, type EventOptions } from './events.js'
import type { ItemEncoder } from './pump.js'
import type { Runtime } from './stream.js'

/** Per-route settings, given as the `sse` route option. */
export interface SseRouteOptions<Events extends EventMap = EventMap> extends EventOptions {
  /** The events this route emits: name → schema of `data`. Types the handler's items, validates and serializes them, documents the route. */
  events?: Events
}

/** What the plugin prepares once per route at start-up, never per request. */
export interface CompiledRoute {
  /** The item pipeline of this route's streams. */
  encode: ItemEncoder
}

export const kRoute = Symbol('fastify-typed-sse.route')

/** Compiles the `sse` route option; called from the plugin's onRoute hook. */
export function compileRoute (options: SseRouteOptions, runtime: Runtime, route: RouteOptions): CompiledRoute {
  if (options === null || typeof options !== 'object') {
    throw new FST_SSE_INVALID_OPTION(`route ${String(route.method)} ${route.url}: sse must be an object`)
  }
  const pipeline = compileEvents(options.events, options, runtime.options.serializer)
  return { encode: pipeline.encode }
}
