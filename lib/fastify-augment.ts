import type {
  ContextConfigDefault, FastifyBaseLogger, FastifySchema, FastifyTypeProvider,
  FastifyTypeProviderDefault, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerBase,
  RawServerDefault, RouteGenericInterface, RouteHandlerMethod, RouteOptions,
  RouteShorthandOptionsWithHandler
} from 'fastify'
import type { EventMap } from './typed/event-types.js'
import type { SseReply, SseServer } from './sse-api.js'
import type { SseRouteOptions } from './typed/route-options.js'
import type { EventsOf, TypedSseHandler, WithTypedSse, WithTypedSseHandler } from './typed-route.js'

// Everything this package adds to Fastify's types, in one file. The package ships this file's
// declarations once (dist/cjs; dist/esm/fastify-augment.d.ts only imports it, see
// scripts/build.mjs): a program loading both builds, ESM files and .cts files, would otherwise
// declare `reply.sse` twice with two distinct types, which TypeScript refuses (TS2717).

declare module 'fastify' {
  interface RouteShorthandOptions {
    /**
     * Server-Sent Events settings of this route (fastify-typed-sse). Options with an `events`
     * map match only the typed overloads below, so a handler that breaks its event types is an
     * error instead of falling back to an untyped signature.
     */
    sse?: SseRouteOptions<never>
  }
  interface FastifyReply {
    /** Server-Sent Events for this reply (fastify-typed-sse). */
    readonly sse: SseReply
  }

  // Inference goes through Fastify's own route generics: these overloads infer `Events` from
  // `sse.events` next to RouteGeneric, ContextConfig and SchemaCompiler, so schemas, type
  // providers and explicit generics keep working. Merged overloads come before Fastify's, and
  // plain options reject `events`, so a route with an event map can only match here. With
  // explicit type arguments TypeScript infers none of the others: `Events` then defaults to
  // RouteGeneric's `Events` member, or to a type no event map matches (see EventsOf).
  interface RouteShorthandMethod<
    RawServer extends RawServerBase = RawServerDefault,
    RawRequest extends RawRequestDefaultExpression<RawServer> = RawRequestDefaultExpression<RawServer>,
    RawReply extends RawReplyDefaultExpression<RawServer> = RawReplyDefaultExpression<RawServer>,
    TypeProvider extends FastifyTypeProvider = FastifyTypeProviderDefault,
    Logger extends FastifyBaseLogger = FastifyBaseLogger
  > {
    <RouteGeneric extends RouteGenericInterface = RouteGenericInterface, ContextConfig = ContextConfigDefault,
      const SchemaCompiler extends FastifySchema = FastifySchema, const Events extends EventMap = EventsOf<RouteGeneric>>(
      path: string,
      opts: WithTypedSse<RouteShorthandOptions<RawServer, RawRequest, RawReply, RouteGeneric, ContextConfig,
        SchemaCompiler, TypeProvider, Logger>, Events>,
      handler: TypedSseHandler<RouteHandlerMethod<RawServer, RawRequest, RawReply, RouteGeneric, ContextConfig,
        SchemaCompiler, TypeProvider, Logger>, Events, TypeProvider>
    ): FastifyInstance<RawServer, RawRequest, RawReply, Logger, TypeProvider>
    <RouteGeneric extends RouteGenericInterface = RouteGenericInterface, ContextConfig = ContextConfigDefault,
      const SchemaCompiler extends FastifySchema = FastifySchema, const Events extends EventMap = EventsOf<RouteGeneric>>(
      path: string,
      opts: WithTypedSseHandler<RouteShorthandOptionsWithHandler<RawServer, RawRequest, RawReply, RouteGeneric,
        ContextConfig, SchemaCompiler, TypeProvider, Logger>, Events, TypeProvider>
    ): FastifyInstance<RawServer, RawRequest, RawReply, Logger, TypeProvider>
  }

  interface FastifyInstance<
    RawServer extends RawServerBase = RawServerDefault,
    RawRequest extends RawRequestDefaultExpression<RawServer> = RawRequestDefaultExpression<RawServer>,
    RawReply extends RawReplyDefaultExpression<RawServer> = RawReplyDefaultExpression<RawServer>,
    Logger extends FastifyBaseLogger = FastifyBaseLogger,
    TypeProvider extends FastifyTypeProvider = FastifyTypeProviderDefault
  > {
    /**
     * Server-Sent Events state of this instance (fastify-typed-sse). Streams declared through
     * it are typed by the instance's type provider (TypeBox 1.x schemas need one).
     */
    readonly sse: SseServer<TypeProvider>
    route<RouteGeneric extends RouteGenericInterface = RouteGenericInterface, ContextConfig = ContextConfigDefault,
      const SchemaCompiler extends FastifySchema = FastifySchema, const Events extends EventMap = EventsOf<RouteGeneric>>(
      opts: WithTypedSseHandler<RouteOptions<RawServer, RawRequest, RawReply, RouteGeneric, ContextConfig,
        SchemaCompiler, TypeProvider, Logger>, Events, TypeProvider>
    ): FastifyInstance<RawServer, RawRequest, RawReply, Logger, TypeProvider>
  }
}
