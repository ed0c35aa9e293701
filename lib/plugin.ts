import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { encodeItem, type SseItem } from './encode.js'
import { checkStore, Fanout, type SseFanout, type SubscribeFunction } from './fanout.js'
import { readLastEventId } from './last-event-id.js'
import { resolveOptions, type SsePluginOptions } from './options.js'
import type { ItemEncoder } from './pump.js'
import { Registry } from './registry.js'
import { compileRoute, kRoute, type CompiledRoute, type SseRouteOptions } from './route.js'
import './fastify-augment.js'
import { openStream, streamFrom, type Runtime, type SseResult, type SseSource, type SseStream, type StreamState } from './stream.js'

/** `reply.sse`: start a stream from a source, or open one to push to. */
export interface SseReply<Item = SseItem> {
  /**
   * Streams the items of `source` (an async iterable, an iterable, or a function of
   * `{ signal, lastEventId, request, reply }` returning one). Settles when the stream is over;
   * return it from the handler.
   */
  (source: SseSource<Item>): Promise<SseResult>
  /** Opens a stream the application pushes to with `send()`. */
  open: () => SseStream<Item>
  /**
   * Subscribes this client to a stream (declared with `fastify.sse.stream()`, or a name):
   * replays what it missed since its `Last-Event-ID`, or sends a reset notice when that cannot
   * be done, then delivers live events. Resolves once the client is live; never rejects.
   */
  subscribe: SubscribeFunction
  /** The client's `Last-Event-ID` (header, else the query parameter), UTF-8 decoded; undefined when absent or invalid. */
  readonly lastEventId: string | undefined
}

/** `fastify.sse`: the plugin instance's view of its streams. */
export interface SseServer extends SseFanout {
  /** Streams open right now. */
  readonly openStreams: number
}

const kState = Symbol('fastify-typed-sse.state')
const kReply = Symbol('fastify-typed-sse.reply')

interface ReplyWithState extends FastifyReply {
  [kState]: StreamState | null
  [kReply]: SseReply | null
}

async function fastifyTypedSse (fastify: FastifyInstance, opts: SsePluginOptions): Promise<void> {
  const options = resolveOptions(opts)
  const registry = new Registry(options.heartbeatMs, options.stallTimeoutMs)
  const defaultEncoder: ItemEncoder = (item, maxBytes) => encodeItem(item, options.serializer, maxBytes)
  const runtime: Runtime = {
    options,
    registry,
    closing: false,
    encoderFor: (request) => {
      const route = routeOf(request)
      if (route === undefined) return defaultEncoder
      return request !== undefined && route.encodeFor !== undefined ? route.encodeFor(request.log) : route.encode
    }
  }

  // Everything a route's `sse` option asks for is compiled here, once, at start-up.
  fastify.addHook('onRoute', function (route) {
    const sse = (route as { sse?: SseRouteOptions }).sse
    if (sse === undefined) return
    // `this` is the instance declaring the route: its logger carries that context's bindings.
    // Compiled before the spread: compiling may add to the config (documentation hooks).
    const compiled = compileRoute(sse, runtime, route, this.log)
    route.config = { ...route.config, [kRoute]: compiled }
  })

  const fanout = new Fanout(runtime, checkStore(opts?.store), fastify.log)
  fastify.decorate('sse', {
    getter (): SseServer {
      return fanout
    }
  })

  // Declared up front so every reply has the same shape; filled only on SSE routes.
  fastify.decorateReply(kState, null)
  fastify.decorateReply(kReply, null)
  fastify.decorateReply('sse', {
    getter (this: FastifyReply): SseReply {
      const reply = this as ReplyWithState
      return reply[kReply] ?? (reply[kReply] = sseReply(runtime, fanout, reply))
    }
  })

  // preClose runs before the server stops accepting and waits for connections: streams must
  // end here or fastify.close() would wait for them forever.
  fastify.addHook('preClose', async () => {
    runtime.closing = true
    registry.endAll('shutdown', options.shutdownFrame)
  })
  fastify.addHook('onClose', async () => {
    await fanout.close()
  })
}

function routeOf (request: FastifyRequest | undefined): CompiledRoute | undefined {
  if (request === undefined) return undefined
  return (request.routeOptions.config as { [kRoute]?: CompiledRoute } | undefined)?.[kRoute]
}

function sseReply (runtime: Runtime, fanout: Fanout, reply: ReplyWithState): SseReply {
  const state = (reply[kState] = {
    started: false,
    lastEventId: readLastEventId(reply.request as FastifyRequest, {
      query: runtime.options.lastEventIdQuery,
      maxLength: runtime.options.maxLastEventIdLength
    })
  })
  return Object.assign((source: SseSource) => streamFrom(runtime, reply, state, source), {
    open: () => openStream(runtime, reply, state),
    subscribe: ((target, options) => fanout.subscribe(reply, state, target as never, options as never)) as SubscribeFunction,
    lastEventId: state.lastEventId.status === 'ok' ? state.lastEventId.value : undefined
  })
}

export const plugin = fp(fastifyTypedSse, {
  fastify: '5.x',
  name: 'fastify-typed-sse'
})
