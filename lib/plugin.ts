import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Budget } from './budget.js'
import { encodeItem, type ItemEncoder } from './encode.js'
import { checkStore, Fanout, type SubscribeFunction, type SubscribeTopicsFunction } from './replay/fanout.js'
import { FST_SSE_INVALID_EXPIRY, FST_SSE_INVALID_KEY, FST_SSE_NOT_ACCEPTABLE } from './errors.js'
import { assertKnownOptions, routeOption, type OptionError } from './option-checks.js'
import { readLastEventId } from './last-event-id.js'
import { acceptsEventStream, parseMediaType, prefersEventStream, type MediaType } from './negotiate.js'
import { checkMaxConnectionMs, jitteredLifetime, resolveOptions } from './options.js'
import type { Connection } from './connection.js'
import { kConn, kPlan, Registry, type StreamPlan } from './registry.js'
import { compileRoute, kRoute, type CompiledRoute, type SseRouteOptions } from './typed/route-options.js'
import './fastify-augment.js'
import type { SsePluginOptions, SseReply, SseServer } from './sse-api.js'
import type { Runtime } from './runtime.js'
import { lastEventIdOf, openStream, streamFrom, type SseSource, type StreamState } from './stream.js'

const kState = Symbol('fastify-typed-sse.state')
const kReply = Symbol('fastify-typed-sse.reply')

interface ReplyWithState extends FastifyReply {
  [kState]: StreamState | null
  [kReply]: SseReply | null
  [kPlan]: StreamPlan | null
  [kConn]: Connection | null
}

/** Route settings of this module (the item pipeline is compiled by typed/route-options.ts). */
interface RouteOps {
  /** The other representation of a dual route. */
  alternative: MediaType | undefined
  maxConnectionMs: number | undefined
}

const kOps = Symbol('fastify-typed-sse.ops')

const ROUTE_OPTIONS = ['events', 'validate', 'serialize', 'onInvalid', 'alternative', 'maxConnectionMs'] as const

/** What every stream of a plugin instance needs from this module. */
interface Operations {
  runtime: Runtime
  registry: Registry
  fanout: Fanout
}

async function fastifyTypedSse (fastify: FastifyInstance, opts: SsePluginOptions): Promise<void> {
  const options = resolveOptions(opts)
  const registry = new Registry({
    heartbeatMs: options.heartbeatMs,
    stallTimeoutMs: options.stallTimeoutMs,
    maxStreams: options.maxStreams,
    maxStreamsPerKey: options.maxStreamsPerKey,
    reconnectFrame: options.reconnectFrame,
    limitFrame: () => 'retry: ' + (options.limitRetryMs + Math.floor(Math.random() * options.limitRetryMs)) + '\n\n',
    now: options.now
  })
  const defaultEncoder: ItemEncoder = (item, maxBytes) => encodeItem(item, options.serializer, maxBytes)
  const budget = new Budget(options.maxTotalBufferedBytes)
  const runtime: Runtime = {
    options,
    registry,
    budget,
    limits: { heartbeatMs: options.heartbeatMs, stallTimeoutMs: options.stallTimeoutMs, maxBufferedBytes: options.maxBufferedBytes, budget },
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
    const invalid = routeOption(`${String(route.method)} ${route.url}`)
    if (sse === null || typeof sse !== 'object') throw invalid('sse must be an object')
    assertKnownOptions(sse, ROUTE_OPTIONS, invalid)
    const ops = routeOps(sse as SseRouteOptions & Partial<RouteOpsInput>, invalid)
    // `this` is the instance declaring the route: its logger carries that context's bindings.
    // Compiled before the spread: compiling may add to the config (documentation hooks).
    const compiled = compileRoute(sse, runtime, route, this.log)
    // Cast: a program that loads @fastify/swagger's types gives the config interface known keys, and symbol keys count as excess.
    route.config = { ...route.config, [kRoute]: compiled, [kOps]: ops } as typeof route.config
  })

  const fanout = new Fanout(runtime, checkStore(opts?.store), fastify.log)
  fastify.decorate('sse', {
    // The provider is a type-level parameter only: one object serves every typed view of the instance.
    getter (): SseServer<any> {
      return fanout
    }
  })

  // Declared up front so every reply has the same shape; filled only on SSE routes.
  fastify.decorateReply(kState, null)
  fastify.decorateReply(kReply, null)
  fastify.decorateReply(kPlan, null)
  fastify.decorateReply(kConn, null)
  const ops: Operations = { runtime, registry, fanout }
  fastify.decorateReply('sse', {
    getter (this: FastifyReply): SseReply {
      const reply = this as ReplyWithState
      return reply[kReply] ?? (reply[kReply] = sseReply(ops, reply))
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

interface RouteOpsInput {
  alternative: string
  maxConnectionMs: number | false
}

function routeOps (sse: Partial<RouteOpsInput>, invalid: OptionError): RouteOps {
  let alternative: MediaType | undefined
  if (sse.alternative !== undefined) {
    alternative = typeof sse.alternative === 'string' ? parseMediaType(sse.alternative) : undefined
    if (alternative === undefined || (alternative.type === 'text' && alternative.subtype === 'event-stream')) {
      throw invalid('alternative must be a media type other than text/event-stream, such as \'application/json\'')
    }
  }
  return { alternative, maxConnectionMs: checkMaxConnectionMs(sse.maxConnectionMs, invalid) }
}

function opsOf (request: FastifyRequest): RouteOps | undefined {
  return (request.routeOptions.config as { [kOps]?: RouteOps } | undefined)?.[kOps]
}

/**
 * `reply.sse`: a function (for `reply.sse(source)`) carrying its methods as closures, so they
 * work destructured too. `accepted` is a getter on a prototype all of them share: an accessor
 * defined on each function would turn it into a dictionary, about 470 B more for every stream.
 * Once a stream has started, the reply forgets this object (a stream whose handler returns its
 * promise keeps the reply for its whole life); reading `reply.sse` again makes another on the
 * same state.
 */
function sseReply (ops: Operations, reply: ReplyWithState): SseReply {
  const { runtime, fanout } = ops
  const state = (reply[kState] ??= {
    started: false,
    lastEventId: readLastEventId(reply.request as FastifyRequest, {
      query: runtime.options.lastEventIdQuery,
      maxLength: runtime.options.maxLastEventIdLength
    })
  })
  const api = Object.assign((source: SseSource) => {
    try {
      // Over a cap, or past its expiry, the producer is never called: the stream opens only to
      // be told to come back later.
      if (!prepare(ops, reply)) source = []
    } catch (err) {
      // reply.sse() reports every failure through its promise, as streamFrom does.
      return Promise.reject(err)
    }
    return forget(reply, slotBackOnFailure(ops, reply, streamFrom(runtime, reply, state, source)))
  }, {
    open: () => {
      prepare(ops, reply)
      return forget(reply, started(ops, reply, () => openStream(runtime, reply, state)))
    },
    subscribe: ((target, options) => {
      prepare(ops, reply)
      return forget(reply, started(ops, reply, () => fanout.subscribe(reply, state, target as never, options as never)))
    }) as SubscribeFunction,
    subscribeTopics: ((topics, options) => {
      try {
        prepare(ops, reply)
      } catch (err) {
        return Promise.reject(err)
      }
      return forget(reply, slotBackOnFailure(ops, reply, fanout.subscribeTopics(reply, state, topics, options)))
    }) as SubscribeTopicsFunction,
    lastEventId: lastEventIdOf(state),
    expireAt: (at: Date | number) => expireAt(ops, reply, at),
    [kOwner]: reply as FastifyReply
  })
  return Object.setPrototypeOf(api, SseReplyPrototype) as SseReply
}

/** Runs a start that may throw before its stream opens (an unknown topic, a second start): a slot taken for it is given back. */
function started<T> (ops: Operations, reply: ReplyWithState, start: () => T): T {
  try {
    return start()
  } catch (err) {
    ops.registry.unreserve(reply)
    throw err
  }
}

/**
 * A start that rejects only before its stream opens (a producer that threw, an unknown or
 * forbidden topic): the cap slot taken for it is given back. Once the stream is open the slot
 * is the stream's, and giving back is a no-op.
 */
function slotBackOnFailure<T> (ops: Operations, reply: ReplyWithState, start: Promise<T>): Promise<T> {
  return start.then(undefined, (err: unknown) => {
    ops.registry.unreserve(reply)
    throw err
  })
}

/** A stream started: the reply lets go of its `reply.sse` (see {@link sseReply}) and hands on what the start gave. */
function forget<T> (reply: ReplyWithState, started: T): T {
  reply[kReply] = null
  return started
}

const kOwner = Symbol('fastify-typed-sse.owner')
const kAccepted = Symbol('fastify-typed-sse.accepted')

interface SseReplyInternals {
  [kOwner]: FastifyReply
  [kAccepted]?: boolean
}

const SseReplyPrototype: object = Object.setPrototypeOf({
  get accepted (): boolean {
    const api = this as unknown as SseReplyInternals
    return (api[kAccepted] ??= isAccepted(api[kOwner].request))
  }
}, Function.prototype)

function isAccepted (request: FastifyRequest): boolean {
  const alternative = opsOf(request)?.alternative
  const accept = request.headers.accept
  return alternative === undefined ? acceptsEventStream(accept) : prefersEventStream(accept, alternative)
}

/**
 * Runs before a stream starts, on every way to start one: refuses a client that does not
 * accept an event stream, and plans the stream's lifetime and takes its cap slot, before any
 * producer runs. False when a cap is reached or the application's expiry has passed (the
 * registry then ends the stream as it opens, before anything is sent).
 */
function prepare (ops: Operations, reply: ReplyWithState): boolean {
  const request = reply.request
  const route = opsOf(request)
  // A dual route's handler chose the stream knowingly; elsewhere the client must accept it.
  if (route?.alternative === undefined && !acceptsEventStream(request.headers.accept)) {
    throw new FST_SSE_NOT_ACCEPTABLE(describeAccept(request.headers.accept))
  }
  const { options } = ops.runtime
  const lifetimeMs = jitteredLifetime(route?.maxConnectionMs ?? options.maxConnectionMs)
  const limited = options.maxStreams !== Infinity || options.maxStreamsPerKey !== Infinity
  // A stream with nothing to plan costs no plan: memory per idle stream is what limits a process.
  if (!limited && lifetimeMs === 0 && reply[kPlan] === null) return true
  const plan = (reply[kPlan] ??= newPlan())
  if (options.maxStreamsPerKey !== Infinity && !plan.reserved) plan.limitKey = limitKeyOf(options.streamKey, request)
  plan.lifetimeMs = lifetimeMs
  if (limited && !ops.registry.reserve(plan)) return false
  return plan.expiresAt > ops.registry.now()
}

function newPlan (): StreamPlan {
  return { limitKey: undefined, lifetimeMs: 0, expiresAt: Infinity, reserved: false, refused: false }
}

function limitKeyOf (streamKey: ((request: FastifyRequest) => string) | undefined, request: FastifyRequest): string {
  const key = streamKey === undefined ? request.ip : streamKey(request)
  if (typeof key !== 'string' || key === '' || key.length > 1024) {
    throw new FST_SSE_INVALID_KEY(`streamKey must return a non-empty string of at most 1024 characters, got ${typeof key === 'string' ? `${key.length} characters` : typeof key}`)
  }
  return key
}

function expireAt (ops: Operations, reply: ReplyWithState, at: Date | number): void {
  const ms = at instanceof Date ? at.getTime() : at
  if (typeof ms !== 'number' || Number.isNaN(ms)) throw new FST_SSE_INVALID_EXPIRY(at instanceof Date ? 'an invalid Date' : typeof ms === 'number' ? 'NaN' : ms === null ? 'null' : typeof ms)
  // Wall-clock time to the registry's monotonic clock.
  const clockAt = ops.registry.now() + (ms - Date.now())
  const conn = reply[kConn]
  if (conn !== null) ops.registry.expire(conn, clockAt)
  else (reply[kPlan] ??= newPlan()).expiresAt = Math.min(reply[kPlan].expiresAt, clockAt)
}

function describeAccept (accept: string | string[] | undefined): string {
  const text = Array.isArray(accept) ? accept.join(', ') : String(accept)
  return JSON.stringify(text.length > 200 ? text.slice(0, 200) + '…' : text)
}

export const plugin = fp(fastifyTypedSse, {
  fastify: '5.x',
  name: 'fastify-typed-sse'
})
