/** What a stream needs of a response: `http.ServerResponse` and `http2.Http2ServerResponse` both fit. */
export interface RawResponse {
  write: (chunk: string) => boolean
  end: () => unknown
  destroy: () => unknown
  readonly writableLength: number
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

export interface ConnectionLimits {
  heartbeatMs: number // 0 = off
  stallTimeoutMs: number // 0 = off
  maxBufferedBytes: number
}

const HEARTBEAT = ':\n\n'
// A batch this long is written at once rather than at the end of the tick: the socket's own
// high-water mark, so backpressure is seen after one batch, not after a whole burst.
const BATCH_CHARS = 16 * 1024


/**
 * The write side of one event stream: owns the raw response, knows whether the client can
 * take more, and turns every way a stream can end (client gone, stall, overflow, shutdown,
 * normal end) into one abort of `signal` and one settle of `done`.
 */
export class Connection {
  readonly res: RawResponse
  readonly controller: AbortController
  readonly signal: AbortSignal
  /** Set once; the first reason wins. */
  reason: EndReason | undefined
  /** Events written (heartbeats and the opening frame are not counted). */
  events = 0

  private readonly limits: ConnectionLimits
  private batch = ''
  private scheduled = false
  private wrote = false
  private silentSince: number
  private blockedSince = 0
  private drainWaiters: Array<() => void> | null = null
  private readonly onClose: () => void
  private readonly onDrain: () => void
  private readonly closeListeners: Array<(reason: EndReason) => void> = []

  constructor (res: RawResponse, limits: ConnectionLimits, controller: AbortController, now: number) {
    this.res = res
    this.controller = controller
    this.signal = controller.signal
    this.limits = limits
    this.silentSince = now
    this.onClose = () => this.finish('client')
    this.onDrain = () => this.drained()
    res.on('close', this.onClose)
    res.on('drain', this.onDrain)
  }

  get closed (): boolean {
    return this.reason !== undefined
  }

  /** Runs once when the stream ends, whatever ended it. */
  onEnd (listener: (reason: EndReason) => void): void {
    if (this.reason !== undefined) listener(this.reason)
    else this.closeListeners.push(listener)
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
    this.wrote = true
    if (isEvent) this.events++
    if (this.batch === '') {
      this.batch = chunk
      if (!this.scheduled) {
        this.scheduled = true
        process.nextTick(flushConnection, this)
      }
    } else {
      this.batch += chunk
    }
    return this.batch.length < BATCH_CHARS || this.flush()
  }

  /** The end-of-tick flush scheduled by {@link write}. */
  flushScheduled (): void {
    this.scheduled = false
    this.flush()
  }

  /** Writes the queued batch now. Returns false when the client is not keeping up. */
  flush (): boolean {
    const batch = this.batch
    if (batch === '' || this.reason !== undefined) return this.blockedSince === 0
    this.batch = ''
    if (this.res.write(batch)) return true
    if (this.blockedSince === 0) this.blockedSince = performance.now()
    return false
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
    return this.write(chunk)
  }

  /** Resolves when the client can take more data, or the stream has ended. Never hangs. */
  whenWritable (): Promise<void> {
    if (this.reason !== undefined || this.blockedSince === 0) return Promise.resolve()
    return new Promise((resolve) => {
      (this.drainWaiters ??= []).push(resolve)
    })
  }

  /** Called by the registry's shared timer: heartbeats during silence, stall detection. */
  tick (now: number): void {
    if (this.reason !== undefined) return
    const { heartbeatMs, stallTimeoutMs } = this.limits
    if (this.blockedSince !== 0) {
      if (stallTimeoutMs > 0 && now - this.blockedSince >= stallTimeoutMs) this.destroy('stalled')
      return
    }
    if (this.wrote) {
      this.wrote = false
      this.silentSince = now
      return
    }
    // Only between blocks (every block is one write) and never on top of pending data.
    if (heartbeatMs > 0 && now - this.silentSince >= heartbeatMs && this.batch === '' && this.res.writableLength === 0) {
      this.write(HEARTBEAT, false)
      this.wrote = false
      this.silentSince = now
    }
  }

  /** Ends the response normally (after an optional last block) and settles the stream. */
  end (reason: EndReason, last?: string): void {
    if (this.reason !== undefined) return
    if (last) this.batch += last
    this.flush()
    this.finish(reason)
    this.res.end()
  }

  /** Drops the connection at once (the client sees a network error and reconnects). */
  destroy (reason: EndReason): void {
    if (this.reason !== undefined) return
    this.finish(reason)
    this.res.destroy()
  }

  private drained (): void {
    this.blockedSince = 0
    const waiters = this.drainWaiters
    if (waiters !== null) {
      this.drainWaiters = null
      for (const resolve of waiters) resolve()
    }
  }

  private finish (reason: EndReason): void {
    if (this.reason !== undefined) return
    this.reason = reason
    this.res.off('close', this.onClose)
    this.res.off('drain', this.onDrain)
    this.controller.abort()
    this.drained()
    const listeners = this.closeListeners.splice(0)
    for (const listener of listeners) listener(reason)
  }
}

function flushConnection (conn: Connection): void {
  conn.flushScheduled()
}
