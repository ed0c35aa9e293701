import type { RouteOptions } from 'fastify'
import { FST_SSE_INVALID_OPTION } from './errors.js'
import type { ItemEncoder } from './pump.js'
import type { Runtime } from './stream.js'

/** Per-route settings, given as the `sse` route option. */
export interface SseRouteOptions {
  [key: string]: unknown
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
    throw new FST_SSE_INVALID_OPTION(`route ${route.method} ${route.url}: sse must be an object`)
  }
  return { encode: runtime.encoderFor(undefined) }
}
