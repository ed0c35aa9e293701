import type {
  ContextConfigDefault, FastifyBaseLogger, FastifyInstance, FastifyReply, FastifySchema, FastifyTypeProvider,
  FastifyTypeProviderDefault, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerBase,
  RawServerDefault, RouteGenericInterface, RouteHandlerMethod, RouteOptions, RouteShorthandOptions,
  RouteShorthandOptionsWithHandler
} from 'fastify'
import type { EventItem, EventMap } from './event-types.js'
import type { SseReply } from './plugin.js'
import type { SseRouteOptions } from './route.js'

/** A reply whose `reply.sse` only takes the items of `Events`. */
export type TypedSseReply<Reply, Events extends EventMap> =
  // Omit rather than intersect: an intersection would keep the untyped call signature as an overload.
  Omit<Reply, 'sse'> & { readonly sse: SseReply<EventItem<Events>> }

/** A Fastify handler type with its reply's `sse` narrowed to the items of `Events`. */
export type TypedSseHandler<Handler extends (...args: any[]) => any, Events extends EventMap> = (
  this: ThisParameterType<Handler>,
  request: Parameters<Handler>[0],
  reply: TypedSseReply<Parameters<Handler>[1], Events>
) => ReturnType<Handler>

/** Route options whose `sse` option declares an event map. */
export type WithTypedSse<Options, Events extends EventMap> =
  Omit<Options, 'sse'> & { sse: SseRouteOptions<Events> & { events: Events } }

/** Route options carrying their handler (`app.route()`, or shorthand options with `handler`). */
export type WithTypedSseHandler<Options extends { handler: (...args: any[]) => any }, Events extends EventMap> =
  Omit<WithTypedSse<Options, Events>, 'handler'> & { handler: TypedSseHandler<Options['handler'], Events> }

/** The type of `reply` in a handler of a route declaring `Events` (for handlers written apart from their route). */
export type SseRouteReply<Events extends EventMap> = TypedSseReply<FastifyReply, Events>

// Inference goes through Fastify's own route generics: these overloads infer `Events` from
// `sse.events` next to RouteGeneric, ContextConfig and SchemaCompiler, so schemas, type
// providers and explicit generics keep working. Merged overloads come before Fastify's, and
// plain options reject `events` (see RouteShorthandOptions in plugin.ts), so a route with
// an event map can only match here.
declare module 'fastify' {
  interface RouteShorthandMethod<
    RawServer extends RawServerBase = RawServerDefault,
    RawRequest extends RawRequestDefaultExpression<RawServer> = RawRequestDefaultExpression<RawServer>,
    RawReply extends RawReplyDefaultExpression<RawServer> = RawReplyDefaultExpression<RawServer>,
    TypeProvider extends FastifyTypeProvider = FastifyTypeProviderDefault,
    Logger extends FastifyBaseLogger = FastifyBaseLogger
  > {
    <RouteGeneric extends RouteGenericInterface = RouteGenericInterface, ContextConfig = ContextConfigDefault,
      const SchemaCompiler extends FastifySchema = FastifySchema, const Events extends EventMap = EventMap>(
      path: string,
      opts: WithTypedSse<RouteShorthandOptions<RawServer, RawRequest, RawReply, RouteGeneric, ContextConfig,
        SchemaCompiler, TypeProvider, Logger>, Events>,
      handler: TypedSseHandler<RouteHandlerMethod<RawServer, RawRequest, RawReply, RouteGeneric, ContextConfig,
        SchemaCompiler, TypeProvider, Logger>, Events>
    ): FastifyInstance<RawServer, RawRequest, RawReply, Logger, TypeProvider>
    <RouteGeneric extends RouteGenericInterface = RouteGenericInterface, ContextConfig = ContextConfigDefault,
      const SchemaCompiler extends FastifySchema = FastifySchema, const Events extends EventMap = EventMap>(
      path: string,
      opts: WithTypedSseHandler<RouteShorthandOptionsWithHandler<RawServer, RawRequest, RawReply, RouteGeneric,
        ContextConfig, SchemaCompiler, TypeProvider, Logger>, Events>
    ): FastifyInstance<RawServer, RawRequest, RawReply, Logger, TypeProvider>
  }

  interface FastifyInstance<
    RawServer extends RawServerBase = RawServerDefault,
    RawRequest extends RawRequestDefaultExpression<RawServer> = RawRequestDefaultExpression<RawServer>,
    RawReply extends RawReplyDefaultExpression<RawServer> = RawReplyDefaultExpression<RawServer>,
    Logger extends FastifyBaseLogger = FastifyBaseLogger,
    TypeProvider extends FastifyTypeProvider = FastifyTypeProviderDefault
  > {
    route<RouteGeneric extends RouteGenericInterface = RouteGenericInterface, ContextConfig = ContextConfigDefault,
      const SchemaCompiler extends FastifySchema = FastifySchema, const Events extends EventMap = EventMap>(
      opts: WithTypedSseHandler<RouteOptions<RawServer, RawRequest, RawReply, RouteGeneric, ContextConfig,
        SchemaCompiler, TypeProvider, Logger>, Events>
    ): FastifyInstance<RawServer, RawRequest, RawReply, Logger, TypeProvider>
  }
}
