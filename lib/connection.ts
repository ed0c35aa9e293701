import { ServerResponse } from 'node:http'
import { Socket } from 'node:net'

/** What a stream needs of a response: `http.ServerResponse` and `http2.Http2ServerResponse` both fit. */
export interface RawResponse {
  write: (chunk: string) => boolean
  end: () => unknown
  destroy: () => unknown
  readonly writableLength: number
  readonly writableEnded: boolean
  readonly destroyed: boolean
  on: (event: 'close' | 'drain', listener: () => void) => unknown
  off: (event: 'close' | 'drain', listener: () => void) => unknown
}

/** Why a stream ended. */
export type EndReason =
  | 'end' // the producer finished, or the application closed the stream
  | 'client' // the client went away
  | 'error' // the producer, an item or the serializer failed
  | 'shutdown' // fastify.close()
  | 'stalled' // the client stopped reading for longer than stallTimeoutMs
  | 'overflow' // more than maxBufferedBytes were waiting for a slow client
  | 'lifetime' // maxConnectionMs elapsed: the client reconnects and resumes
  | 'expired' // the application's reply.sse.expireAt() was reached
  | 'limit' // over maxStreams or maxStreamsPerKey: told to come back later
  | 'budget' // over maxTotalBufferedBytes, summed over every slow client, and this one was furthest behind

export interface ConnectionLimits {
  heartbeatMs: number // 0 = off
  stallTimeoutMs: number // 0 = off
  maxBufferedBytes: number
  /** Told about every client whose writes are refused, and when it caught up or ended. */
  budget?: QueueBudget | null
}

/** What bounds the bytes queued to every slow client together (see budget.ts). */
export interface QueueBudget {
  /** `conn`'s write of `bytes` was refused: they wait in its queue. */
  grew: (conn: Connection, bytes: number) => void
  /** `conn` caught up, or ended. */
  drained: (conn: Connection) => void
}

/**
 * Told once when a connection ends, whatever ended it: the registry, a pump, a subscriber.
 * An object rather than a closure: what already holds the connection listens at no extra cost.
 */
export interface EndListener {
  connectionEnded: (conn: Connection) => void
}

const HEARTBEAT = ':\n\n'
// The signal's abort reason, made once: a reason made at the end of each stream would capture
// the stack that ended it (the response's 'close' emit among it), and a producer holding the
// signal long after would keep those objects alive.
const ENDED = new DOMException('This operation was aborted', 'AbortError')
// A batch this long is written at once rather than at the end of the tick: the socket's own
// high-water mark, so backpressure is seen after one batch, not after a whole burst.
const BATCH_CHARS = 32 * 1024

/**
 * The write side of one event stream: owns the raw response, knows whether the client can
 * take more, and turns every way a stream can end (client gone, stall, overflow, shutdown,
 * normal end) into one abort of `signal` and one call of each end listener.
 *
 * It is kept small on purpose: an idle subscriber costs this object, and memory per idle
 * connection is what limits how many clients one process holds.
 */
export class Connection {
  readonly res: RawResponse
  /** Set once; the first reason wins. */
  reason: EndReason | undefined
  /** Events written (heartbeats and the opening frame are not counted). */
  events = 0

  private readonly limits: ConnectionLimits
  // Created on first use: most pushed streams never look at their signal.
  private controller: AbortController | undefined
  private batch = ''
  // SCHEDULED | WROTE | CHUNKS, in one field: every field is paid by every idle subscriber.
  private flags: number
  private silentSince: number
  // Null while the client takes what is written: the state of a refused write lives in its
  // own object, made only for a client that falls behind.
  private blocked: Blocked | null = null
  // Most connections have one or two end listeners (the registry, then the pump or the
  // subscriber): two slots, an array only past that.
  private endListener: EndListener | null = null
  private moreEndListeners: EndListener | EndListener[] | null = null

  constructor (res: RawResponse, limits: ConnectionLimits, now: number, controller?: AbortController) {
    this.res = res
    this.limits = limits
    this.silentSince = now
    this.controller = controller
    this.flags = framesChunks(res) ? CHUNKS : 0
    // One listener shared by every connection, found again through its response: a closure per
    // connection would cost more than the entry, and idle subscribers are mostly this object.
    connectionOf.set(res, this)
    res.on('close', onResponseClose)
    // A pipelined request's response waits behind the ones before it on its socket, and Node
    // never says 'close' on a response still waiting when that socket closes: the socket does.
    const socket = queuedOn(res)
    if (socket !== null) {
      this.flags |= QUEUED
      let waiting = waitingOn.get(socket)
      if (waiting === undefined) {
        waitingOn.set(socket, (waiting = new Set()))
        socket.on('close', onQueuedSocketClose)
      }
      waiting.add(this)
    }
  }

  /** Whether the client is already gone: the response destroyed, or the socket it waits for closed. */
  get gone (): boolean {
    if (this.res.destroyed) return true
    return (this.flags & QUEUED) !== 0 && (queuedOn(this.res)?.destroyed ?? false)
  }

  /** Aborted the moment the stream ends, for any reason. */
  get signal (): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController()
      if (this.reason !== undefined) this.controller.abort(ENDED)
    }
    return this.controller.signal
  }

  get closed (): boolean {
    return this.reason !== undefined
  }

  /** Tells `listener` once when the stream ends, whatever ended it (at once if it has), in the order added. */
  onEnd (listener: EndListener): void {
    if (this.reason !== undefined) listener.connectionEnded(this)
    else if (this.endListener === null) this.endListener = listener
    else if (this.moreEndListeners === null) this.moreEndListeners = listener
    else if (Array.isArray(this.moreEndListeners)) this.moreEndListeners.push(listener)
    else this.moreEndListeners = [this.moreEndListeners, listener]
  }

  /**
   * Queues one complete event block. Returns false when the client is not keeping up (the
   * caller should wait for {@link whenWritable}) or the stream is closed.
   * Blocks queued in the same tick leave in one write at the end of the tick (sooner once
   * a batch fills): one chunk and one syscall for a burst instead of one per event, and no
   * added latency for a lone event.
   */
  write (chunk: string, isEvent = true): boolean {
    if (this.reason !== undefined) return false
    if (isEvent) this.events++
    if (this.batch === '') {
      this.batch = chunk
      if ((this.flags & SCHEDULED) === 0) {
        this.flags |= SCHEDULED | WROTE
        if (due.push(this) === 1) process.nextTick(flushDue)
      } else {
        this.flags |= WROTE
      }
    } else {
      this.batch += chunk
      this.flags |= WROTE
    }
    return this.batch.length < BATCH_CHARS || this.flush()
  }

  /**
   * Like {@link write}, for pushes that cannot wait (fan-out, `open()` handles): a client that
   * already has more than maxBufferedBytes waiting is disconnected instead of buffered without
   * bound. It reconnects and, on replay routes, resumes from its last id.
   */
  push (chunk: string): boolean {
    if (this.reason !== undefined) return false
    if (this.res.writableLength + this.batch.length + chunk.length > this.limits.maxBufferedBytes) {
      this.destroy('overflow')
      return false
    }
    if (this.batch !== '' || this.blocked !== null) return !this.abandoned() && this.write(chunk)
    // Nothing waits before it: written at once. A push is mostly one event to each of many
    // connections (a publish), and this way each leaves within the publish's own pass, as in a
    // plain loop of writes, instead of in a second pass at the end of the tick. What follows in
    // the same tick is still merged: the response corks its socket until the tick ends.
    this.events++
    this.flags |= WROTE
    try {
      return this.send(chunk)
    } catch {
      // As in the end-of-tick flush: the other connections of this publish must still be written.
      this.destroy('error')
      return false
    }
  }

  /** Bytes written but not yet taken by the client (its socket queue and this tick's batch). */
  get queued (): number {
    return this.res.writableLength + this.batch.length
  }

  /** The end-of-tick flush scheduled by {@link write}. */
  flushScheduled (): void {
    this.flags &= ~SCHEDULED
    try {
      this.flush()
    } catch {
      // Nobody is on the stack to tell, and the connections flushed after this one must still be:
      // a response that cannot be written to is dropped, and the client reconnects.
      this.destroy('error')
    }
  }

  /** Writes the queued batch now. Returns false when the client is not keeping up. */
  flush (): boolean {
    const batch = this.batch
    if (batch === '' || this.reason !== undefined) return this.blocked === null
    this.batch = ''
    return this.send(batch)
  }

  /** Hands text to the response; false (and blocked until 'drain') when the client is not keeping up. */
  private send (text: string): boolean {
    const res = this.res
    if (this.abandoned()) return false
    const chunks = (this.flags & CHUNKS) !== 0 && !corkedByApp(res as unknown as ServerResponse)
    if (chunks ? writeChunk(res as unknown as ServerResponse, text) : res.write(text)) return true
    if (this.blocked === null) {
      // A chunk written to the socket is drained by the socket: the response says 'drain' only
      // after a write of its own was refused.
      const source: DrainSource = (chunks ? (res as unknown as ServerResponse).socket : null) ?? res
      this.blocked = new Blocked(source)
      if (source !== res) connectionOf.set(source, this)
      source.on('drain', onDrain)
    }
    // Last: the budget may end this very connection. Its running total must stay an upper bound
    // of bytes, and `text.length` counts UTF-16 units: UTF-8 takes at most 3 bytes for each, and
    // a chunk's size line and CRLFs add at most 16.
    this.limits.budget?.grew(this, 3 * text.length + 16)
    return false
  }

  /**
   * The application may end or destroy the response itself (`reply.raw.end()`): nothing is
   * written after that, neither past the last chunk nor into whatever response comes next on a
   * kept-alive socket, and the stream ends as the application asked. True when it did.
   */
  private abandoned (): boolean {
    const res = this.res
    if (!res.writableEnded && !res.destroyed) return false
    this.finish(res.destroyed ? 'client' : 'end')
    return true
  }

  /** Resolves when the client can take more data, or the stream has ended. Never hangs. */
  whenWritable (): Promise<void> {
    const blocked = this.blocked
    if (this.reason !== undefined || blocked === null) return Promise.resolve()
    return new Promise((resolve) => {
      (blocked.waiters ??= []).push(resolve)
    })
  }

  /** Called by the registry's shared timer: heartbeats during silence, stall detection. */
  tick (now: number): void {
    if (this.reason !== undefined) return
    const { heartbeatMs, stallTimeoutMs } = this.limits
    const blocked = this.blocked
    if (blocked !== null) {
      // Progress, not a drained queue, is what keeps a client: one reading steadily through a
      // long backlog never empties it between two ticks, yet is not stalled.
      const length = this.res.writableLength
      if (blocked.since === -1 || length < blocked.length) {
        blocked.since = now
        blocked.length = length
      } else if (stallTimeoutMs > 0 && now - blocked.since >= stallTimeoutMs) {
        this.destroy('stalled')
      }
      return
    }
    if ((this.flags & WROTE) !== 0) {
      this.flags &= ~WROTE
      this.silentSince = now
      return
    }
    // Only between blocks (every block is one write) and never on top of pending data.
    if (heartbeatMs > 0 && now - this.silentSince >= heartbeatMs && this.batch === '' && this.res.writableLength === 0) {
      this.write(HEARTBEAT, false)
      this.flags &= ~WROTE
      this.silentSince = now
    }
  }

  /** Ends the response normally (after an optional last block) and settles the stream. */
  end (reason: EndReason, last?: string): void {
    if (this.reason !== undefined) return
    if (last) this.batch += last
    this.flush()
    const behind = this.blocked !== null
    this.finish(reason)
    this.res.end()
    // A client behind still holds its queue once the stream is over, and nothing watches it any
    // more: one that has not taken it all within stallTimeoutMs is dropped, as it would have been
    // while the stream was open.
    const { stallTimeoutMs } = this.limits
    if (behind && stallTimeoutMs > 0 && !this.res.destroyed) setTimeout(dropUnfinished, stallTimeoutMs, this.res).unref()
  }

  /** Drops the connection at once (the client sees a network error and reconnects). */
  destroy (reason: EndReason): void {
    if (this.reason !== undefined) return
    this.finish(reason)
    this.res.destroy()
  }

  /** @internal The client took what was queued: writes are welcome again. */
  drained (): void {
    const blocked = this.blocked
    if (blocked === null) return
    this.blocked = null
    this.limits.budget?.drained(this)
    const source = blocked.source
    source.off('drain', onDrain)
    if (source !== this.res) connectionOf.delete(source)
    const waiters = blocked.waiters
    if (waiters !== null) for (const resolve of waiters) resolve()
  }

  /** @internal The response closed: the client went away (or the response ended). */
  closedByClient (): void {
    this.finish('client')
  }

  private finish (reason: EndReason): void {
    if (this.reason !== undefined) return
    this.reason = reason
    this.batch = ''
    this.res.off('close', onResponseClose)
    if ((this.flags & QUEUED) !== 0) stopWaiting(this)
    this.controller?.abort(ENDED)
    this.drained()
    connectionOf.delete(this.res)
    const first = this.endListener
    const more = this.moreEndListeners
    this.endListener = null
    this.moreEndListeners = null
    first?.connectionEnded(this)
    if (Array.isArray(more)) for (const listener of more) listener.connectionEnded(this)
    else more?.connectionEnded(this)
  }
}

// Each connection by its response, and by its socket while it waits for that socket to drain:
// the listeners below are shared by every connection and find theirs here.
const connectionOf = new WeakMap<object, Connection>()

function onResponseClose (this: RawResponse): void {
  connectionOf.get(this)?.closedByClient()
}

function dropUnfinished (res: RawResponse): void {
  if (!(res as unknown as { writableFinished?: boolean }).writableFinished) res.destroy()
}

function onDrain (this: DrainSource): void {
  connectionOf.get(this)?.drained()
}

const SCHEDULED = 1
const WROTE = 2
const CHUNKS = 4
// The response was queued behind another on its socket when the stream opened.
const QUEUED = 8

// The connections whose responses wait behind another one on each socket: several pipelined
// streams can wait on one socket, and one shared listener tells them all when it closes.
const waitingOn = new WeakMap<Socket, Set<Connection>>()

/** The socket a node:http response is queued on, behind another response; null when it has its socket (or is not node:http). */
function queuedOn (res: RawResponse): Socket | null {
  if (!(res instanceof ServerResponse) || res.socket !== null) return null
  const socket = res.req?.socket
  return socket instanceof Socket ? socket : null
}

function onQueuedSocketClose (this: Socket): void {
  const waiting = waitingOn.get(this)
  waitingOn.delete(this)
  if (waiting !== undefined) for (const conn of waiting) conn.closedByClient()
}

function stopWaiting (conn: Connection): void {
  const socket = (conn.res as unknown as ServerResponse).req?.socket
  if (!(socket instanceof Socket)) return
  const waiting = waitingOn.get(socket)
  if (waiting === undefined || !waiting.delete(conn) || waiting.size > 0) return
  waitingOn.delete(socket)
  socket.off('close', onQueuedSocketClose)
}

const nodeWrite = ServerResponse.prototype.write

/**
 * Whether a connection writes its chunks to the socket itself: a node:http response in chunked
 * encoding whose head has left, on a real socket, whose write() is node's own (the head is
 * sent alone before a connection opens, see stream.ts). Anything else goes through
 * `res.write()`: HTTP/2, an HTTP/1.0 client or a HEAD request (neither is chunked), a response
 * whose write() was replaced by something that wants to see the body, `inject()`'s response.
 */
function framesChunks (res: RawResponse): boolean {
  return res instanceof ServerResponse && res.chunkedEncoding && (res as { _headerSent?: boolean })._headerSent === true &&
    res.write === nodeWrite && res.socket instanceof Socket
}

/**
 * One chunk of a chunked response, framed as node:http frames it (its size in hex, CRLF, its
 * bytes, CRLF) but written to the socket in one write instead of four. A publish pays this
 * per subscriber, and node's framing was most of the JavaScript it ran per subscriber.
 *
 * The first write of a tick goes to the socket at once, so a publish reaches its first
 * subscribers while the pass over the others goes on (node:http holds every write until the
 * tick ends). The socket is then corked until the tick ends: whatever else this connection
 * writes in the same tick leaves with it in one write.
 */
function writeChunk (res: ServerResponse, text: string): boolean {
  const socket = res.socket
  if (socket === null) return res.write(text)
  // A chunk of size 0 would end the response: nothing to write is not written.
  if (text.length === 0) return true
  const chunk = Buffer.byteLength(text).toString(16) + '\r\n' + text + '\r\n'
  if (socket.writableCorked !== 0) return socket.write(chunk)
  const ok = socket.write(chunk)
  socket.cork()
  process.nextTick(uncork, socket)
  return ok
}

/**
 * Whether the application corked the response and its writes wait in the response itself
 * (Node 24 keeps a corked chunked response's writes in its own buffer until uncork(): a chunk
 * written to the socket meanwhile would overtake them, so the stream writes through the
 * response while it is corked). Older Node versions cork the socket, where order is kept.
 */
function corkedByApp (res: ServerResponse): boolean {
  return RESPONSE_BUFFERS_CORKED && res.writableCorked !== 0
}

/**
 * Whether this Node's responses buffer their own corked writes. Those count only their own corks
 * in `writableCorked`; older versions cork the socket and report the socket's count, which a
 * response given a corked stand-in socket shows. Errs toward true: writing through a corked
 * response is always in order, only slower.
 */
const RESPONSE_BUFFERS_CORKED = ((): boolean => {
  try {
    const probe = new ServerResponse({ method: 'GET', httpVersionMajor: 1, httpVersionMinor: 1, headers: {} } as never)
    Object.defineProperty(probe, 'socket', { value: { writableCorked: 1 } })
    return probe.writableCorked === 0
  } catch {
    return true
  }
})()

function uncork (socket: Socket): void {
  socket.uncork()
}

/** A client behind on its writes: since when it last made progress, and who waits for it to catch up. */
class Blocked {
  constructor (
    // What says 'drain' when the client caught up: the response, or the socket when the
    // connection writes its own chunks.
    readonly source: DrainSource
  ) {}

  // -1 until the shared timer stamps it with its own clock, so one clock decides every stall.
  since = -1
  // The queue length at that moment: shorter later means progress.
  length = 0
  waiters: Array<() => void> | null = null
}

type DrainSource = Pick<RawResponse, 'on' | 'off'>

// Connections with a batch to write at the end of this tick. One callback flushes them all: a
// publish reaches every subscriber in one turn, and a scheduled callback per connection cost
// more than the bookkeeping of the writes themselves.
let due: Connection[] = []

function flushDue (): void {
  const list = due
  due = []
  for (const conn of list) conn.flushScheduled()
}
