import type { FastifyReply } from 'fastify'
import type { EventItem, EventMap } from './typed/event-types.js'
import type { SseReply } from './sse-api.js'
import type { SseRouteOptions } from './typed/route-options.js'

/** A reply whose `reply.sse` only takes the items of `Events` (`Provider`: the route's type provider, for TypeBox 1.x). */
export type TypedSseReply<Reply, Events extends EventMap, Provider = unknown> =
  // Omit rather than intersect: an intersection would keep the untyped call signature as an overload.
  Omit<Reply, 'sse'> & { readonly sse: SseReply<EventItem<Events, Provider>> }

/** A Fastify handler type with its reply's `sse` narrowed to the items of `Events`. */
export type TypedSseHandler<Handler extends (...args: any[]) => any, Events extends EventMap, Provider = unknown> = (
  this: ThisParameterType<Handler>,
  request: Parameters<Handler>[0],
  reply: TypedSseReply<Parameters<Handler>[1], Events, Provider>
) => ReturnType<Handler>

/** Route options whose `sse` option declares an event map. */
export type WithTypedSse<Options, Events extends EventMap> =
  Omit<Options, 'sse'> & { sse: SseRouteOptions<Events> & { events: Events } }

/** Route options carrying their handler (`app.route()`, or shorthand options with `handler`). */
export type WithTypedSseHandler<Options extends { handler: (...args: any[]) => any }, Events extends EventMap, Provider = unknown> =
  Omit<WithTypedSse<Options, Events>, 'handler'> & { handler: TypedSseHandler<Options['handler'], Events, Provider> }

/** The type of `reply` in a handler of a route declaring `Events` (for handlers written apart from their route). */
export type SseRouteReply<Events extends EventMap, Provider = unknown> = TypedSseReply<FastifyReply, Events, Provider>

/**
 * What `Events` is when a route's type arguments are written out (`app.get<{ Params: P }>(…)`):
 * TypeScript then infers none of them, so the map is read from RouteGeneric's `Events` member
 * (`app.get<{ Params: P, Events: typeof events }>(…)`). Without one, a type no event map is
 * assignable to: the route fails to compile rather than taking any item.
 */
export type EventsOf<RouteGeneric> = RouteGeneric extends { Events: infer Events extends EventMap } ? Events : EventsNotInferred

export type EventsNotInferred = Record<string, {
  readonly 'the route has explicit type arguments, so its event map is not inferred: add Events: typeof events to them': never
}>

/**
 * The return type to write on a route's generator (`async function * (): EventGenerator<typeof events> {…}`).
 * TypeScript checks an unannotated generator as a whole, once the call takes it, so a bad item
 * is reported on the `reply.sse(` call; with this annotation it is reported at its `yield`.
 */
export type EventGenerator<Events extends EventMap, Provider = unknown> = AsyncGenerator<EventItem<Events, Provider>, void, undefined>
