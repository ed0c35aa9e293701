import type { FastifyReply, FastifyRequest } from 'fastify'
import { Connection, type EndListener, type EndReason, type RawResponse } from './connection.js'
import { encodeItem, jsonSerializer, type ItemEncoder, type SseItem } from './encode.js'
import { FST_SSE_ALREADY_STARTED, FST_SSE_HEADERS_SENT, FST_SSE_INVALID_EVENT, FST_SSE_INVALID_SOURCE } from './errors.js'
import { streamHeaders } from './headers.js'
import type { LastEventIdResult } from './last-event-id.js'
import { isThenable, pump, type AnyIterator } from './pump.js'
import type { Runtime } from './runtime.js'
import { logSafely } from './safe-log.js'
import { describeThrown, producerError } from './thrown.js'

/** How a stream ended, as `reply.sse()` and `open().done` report it. */
export interface SseResult {
  reason: EndReason
  /** Events written to the client. */
  events: number
  /** The failure that ended the stream when `reason` is `'error'` (it was logged, and not sent). */
  error?: Error
}

/** What a producer function receives. */
export interface SourceContext {
  /** Aborted the moment the stream ends for any reason: pass it to every await that can take one. */
  signal: AbortSignal
  /** The client's `Last-Event-ID` (header, else the query parameter), UTF-8 decoded; undefined when absent or invalid. */
  lastEventId: string | undefined
  /**
   * The request and reply, while the stream is open. Once it has ended the context no longer
   * keeps them alive (they may then read as undefined): copy what a `finally` needs.
   */
  readonly request: FastifyRequest
  readonly reply: FastifyReply
}

export type Awaitable<T> = T | PromiseLike<T>
export type SseIterable<Item> = AsyncIterable<Item> | Iterable<Item>
export type SseSource<Item = SseItem> = SseIterable<Item> | ((context: SourceContext) => Awaitable<SseIterable<Item>>)

/** Per-reply state behind `reply.sse`. */
export interface StreamState {
  started: boolean
  lastEventId: LastEventIdResult
}

/** Starts a stream fed by an iterable; settles when the stream is over. */
export async function streamFrom (
  runtime: Runtime, reply: FastifyReply, state: StreamState, source: SseSource<SseItem>
): Promise<SseResult> {
  claim(reply, state, source)
  const controller = new AbortController()
  let iterator: AnyIterator<SseItem>
  const held = new HeldReply(reply)
  try {
    iterator = await iteratorFrom(source, controller, state, held)
  } catch (err) {
    // Before any byte is sent: a producer that throws here (job not found, forbidden) becomes
    // an ordinary HTTP error through Fastify's error handler, which gets an Error it can read.
    throw producerError(err)
  }
  const encode = runtime.encoderFor(reply.request)
  const conn = open(runtime, reply, controller)
  conn.onEnd(held)
  const error = await pump(conn, iterator, encode, runtime.options.maxEventBytes)
  try {
    return settle(runtime, reply, conn, error)
  } finally {
    // Whatever happened above, the stream does not outlive this call.
    conn.end(error === undefined ? 'end' : 'error')
  }
}

async function iteratorFrom (
  source: SseSource<SseItem>, controller: AbortController, state: StreamState, held: HeldReply
): Promise<AnyIterator<SseItem>> {
  let iterable: unknown = source
  if (typeof source === 'function') {
    iterable = source(sourceContext(controller.signal, lastEventIdOf(state), held))
    if (isThenable(iterable)) iterable = await iterable
  }
  return iteratorOf(iterable)
}

/**
 * The request and reply as a producer's context holds them: strongly while the stream is
 * open, weakly once it has ended. A generator keeps its arguments for as long as it is
 * suspended, so one stuck forever on a promise would otherwise pin the response, the socket
 * and the request of every client that has long left.
 */
class HeldReply implements EndListener {
  private reply: FastifyReply | undefined
  private weak: WeakRef<FastifyReply> | undefined

  constructor (reply: FastifyReply) {
    this.reply = reply
  }

  get (): FastifyReply | undefined {
    return this.reply ?? this.weak?.deref()
  }

  /** The stream ended: from now on the reply is held weakly. */
  connectionEnded (): void {
    if (this.reply === undefined) return
    this.weak = new WeakRef(this.reply)
    this.reply = undefined
  }
}

// Its own function: the getters' closures hold `held` and nothing else of the caller's scope.
function sourceContext (signal: AbortSignal, lastEventId: string | undefined, held: HeldReply): SourceContext {
  return {
    signal,
    lastEventId,
    get request () {
      return held.get()?.request as FastifyRequest
    },
    get reply () {
      return held.get() as FastifyReply
    }
  }
}

/** A stream the application writes to itself (`reply.sse.open()`). */
export interface SseStream<Item = SseItem> {
  /**
   * Validates, encodes and queues one item. Returns false once the stream has ended, including
   * when this item would have put more than maxBufferedBytes in front of a client that is not
   * reading (the client is then disconnected). Throws for an invalid item; the stream stays open.
   */
  send: (item: Item) => boolean
  /** Ends the stream normally. */
  close: () => void
  /** Aborted when the stream ends for any reason. */
  readonly signal: AbortSignal
  readonly closed: boolean
  /** The client's last event id, as for producer functions. */
  readonly lastEventId: string | undefined
  /** Settles when the stream is over. Return it from the handler. */
  readonly done: Promise<SseResult>
}

export function openStream (runtime: Runtime, reply: FastifyReply, state: StreamState): SseStream {
  claim(reply, state)
  const encode = runtime.encoderFor(reply.request)
  return new PushStream(open(runtime, reply), encode, runtime.options.maxEventBytes, lastEventIdOf(state))
}

/** A class rather than closures: an idle pushed stream should cost a few fields, not a context per method. */
class PushStream implements SseStream {
  private settled: Promise<SseResult> | undefined

  constructor (
    private readonly conn: Connection,
    private readonly encode: ItemEncoder,
    private readonly maxEventBytes: number,
    readonly lastEventId: string | undefined
  ) {}

  send (item: SseItem): boolean {
    const conn = this.conn
    if (conn.reason !== undefined) return false
    let chunk: string
    try {
      chunk = this.encode(item, this.maxEventBytes)
    } catch (err) {
      // The caller gets a coded error it can read, even for an item whose getters throw anything.
      throw itemError(err)
    }
    if (chunk === '') return true
    // Queued even when the client is behind: pushed streams never wait, they are bounded by
    // maxBufferedBytes instead, and a client past it is dropped (push ends the stream).
    conn.push(chunk)
    return conn.reason === undefined
  }

  close (): void {
    this.conn.end('end')
  }

  get signal (): AbortSignal {
    return this.conn.signal
  }

  get closed (): boolean {
    return this.conn.reason !== undefined
  }

  get done (): Promise<SseResult> {
    return (this.settled ??= new Promise((resolve) => {
      this.conn.onEnd({ connectionEnded: (conn) => resolve({ reason: conn.reason ?? 'end', events: conn.events }) })
    }))
  }
}

/**
 * Every way to start a stream (`reply.sse()`, `open()`, `subscribe()`) runs the same two steps:
 * {@link claim} first, then whatever its kind does while a failure is still an ordinary HTTP
 * error (call the producer, read the store's head), then {@link open}.
 */

const NO_SOURCE = Symbol('no source')

/**
 * Claims the reply for one stream: a second start, or a reply already sent, is refused before
 * anything else runs. A `source` (for `reply.sse()`) must be an object or a function.
 */
export function claim (reply: FastifyReply, state: StreamState, source: unknown = NO_SOURCE): void {
  if (state.started) throw new FST_SSE_ALREADY_STARTED()
  if (reply.sent || reply.raw.headersSent) throw new FST_SSE_HEADERS_SENT()
  if (source !== NO_SOURCE && (source === null || (typeof source !== 'object' && typeof source !== 'function'))) {
    throw new FST_SSE_INVALID_SOURCE(describe(source))
  }
  state.started = true
}

/** The client's last event id as the application sees it: undefined when absent or invalid. */
export function lastEventIdOf (state: StreamState): string | undefined {
  return state.lastEventId.status === 'ok' ? state.lastEventId.value : undefined
}

/** Takes over the response, sends the head and the opening frame, and registers the stream. */
export function open (runtime: Runtime, reply: FastifyReply, controller?: AbortController): Connection {
  const { options, registry, limits } = runtime
  reply.hijack()
  const res = reply.raw
  res.writeHead(reply.statusCode, streamHeaders(reply))
  // The head leaves on its own, now: Node keeps it on the response for the stream's whole life,
  // as the tree of some twenty small strings it was built from unless it is written alone (the
  // socket write flattens it). That tree was about 600 bytes of every idle subscriber.
  res.flushHeaders()
  const conn = new Connection(res as unknown as RawResponse, limits, performance.now(), controller)
  // The opening frame follows at the end of the tick, so clients and `inject({ payloadAsStream })`
  // see the stream at once instead of waiting for the first event.
  conn.write(options.openFrame, false)
  if (conn.gone) {
    conn.destroy('client')
    // Never registered: the cap slot taken for it is given back here.
    registry.unreserve(reply)
    return conn
  }
  registry.add(conn, reply)
  if (runtime.closing) conn.end('shutdown', options.shutdownFrame)
  return conn
}

/** Logs how the stream ended and ends it; never throws, whatever the logger or errorEvent do. */
function settle (runtime: Runtime, reply: FastifyReply, conn: Connection, error: Error | undefined): SseResult {
  if (error === undefined) {
    conn.end('end')
    const reason = conn.reason ?? 'end'
    if (reason !== 'end') logSafely(reply.log, 'debug', { reason, events: conn.events }, 'event stream closed')
    return { reason, events: conn.events }
  }
  if (conn.reason !== undefined) {
    // The stream was already over (client gone, shutdown); the producer's late failure is only worth a log line.
    logSafely(reply.log, 'debug', { err: error }, 'event stream producer failed after the stream ended')
    return { reason: conn.reason, events: conn.events }
  }
  logSafely(reply.log, 'error', { err: error }, 'event stream failed')
  conn.end('error', terminalFrame(runtime, error, reply))
  return { reason: 'error', events: conn.events, error }
}

function terminalFrame (runtime: Runtime, error: Error, reply: FastifyReply): string {
  const { errorEvent } = runtime.options
  if (errorEvent === false) return ''
  try {
    // Plain JSON, not the configured serializer: the serializer may be what just failed.
    return encodeItem(errorEvent(error), jsonSerializer, runtime.options.maxEventBytes)
  } catch (err) {
    logSafely(reply.log, 'error', { err: producerError(err) }, 'errorEvent failed; ending the stream without a terminal event')
    return ''
  }
}

function iteratorOf (value: unknown): AnyIterator<SseItem> {
  let iterator: unknown
  if (value !== null && typeof value === 'object') {
    const asyncFactory = (value as AsyncIterable<SseItem>)[Symbol.asyncIterator]
    if (typeof asyncFactory === 'function') iterator = asyncFactory.call(value)
    else {
      const syncFactory = (value as Iterable<SseItem>)[Symbol.iterator]
      if (typeof syncFactory === 'function') iterator = syncFactory.call(value)
    }
  }
  // Strings are iterable too, but a stream of characters is never what was meant.
  if (iterator === undefined) throw new FST_SSE_INVALID_SOURCE(describe(value))
  if (iterator === null || (typeof iterator !== 'object' && typeof iterator !== 'function')) {
    throw new FST_SSE_INVALID_SOURCE(`an iterable whose iterator is ${describeThrown(iterator)}`)
  }
  return iterator as AnyIterator<SseItem>
}

function describe (value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'string') return 'a string'
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'object') return 'an object that is not iterable'
  return typeof value
}

/** What send() throws for an item that could not be encoded: coded errors as they are, anything else wrapped. */
function itemError (err: unknown): Error {
  const error = producerError(err)
  return error === err ? error : new FST_SSE_INVALID_EVENT(`reading the item threw ${describeThrown(err)}`)
}
