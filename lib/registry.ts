import type { FastifyReply } from 'fastify'
import type { Connection, EndListener, EndReason } from './connection.js'
import { diagnostics } from './diagnostics.js'
import { Limits } from './limits.js'

/** The stream counters of `fastify.sse.metrics()`, kept by the registry. */
export interface StreamMetrics {
  /** Event streams started (every kind, refused ones included). */
  streamsOpened: number
  /** Event streams ended, by reason (`limit`: refused as over `maxStreams` or `maxStreamsPerKey`). */
  streamsEnded: Record<EndReason, number>
  /** Keys with open streams, when `maxStreamsPerKey` is set. Gauge. */
  limitKeys: number
}

/** Where the plugin keeps a reply's {@link StreamPlan}, when its stream needs one. */
export const kPlan = Symbol('fastify-typed-sse.plan')
/** The reply's open stream, set by {@link Registry.add}: a pointer in a slot every reply has, so it costs no allocation. */
export const kConn = Symbol('fastify-typed-sse.conn')

/** What the registry applies to a stream when it opens: prepared per reply by the plugin, before any byte is sent. */
export interface StreamPlan {
  /** The stream's key for `maxStreamsPerKey`; undefined when there is no per-key cap. */
  limitKey: string | undefined
  /** This stream's lifetime (jitter applied), 0 for none. */
  lifetimeMs: number
  /** Clock time at which the application's `expireAt()` ends it; Infinity for never. */
  expiresAt: number
  /** A cap slot was taken for this reply before its producer ran ({@link Registry.reserve}); the stream takes it over when it opens. */
  reserved: boolean
  /** Over a cap when it was checked: the stream opens only to be told to come back later. */
  refused: boolean
}

export interface RegistryOptions {
  heartbeatMs: number
  stallTimeoutMs: number
  maxStreams: number
  maxStreamsPerKey: number
  /** Block sent before a stream ends for its lifetime or expiry: `retry:` so the client comes back soon. */
  reconnectFrame: string
  /** Block sent to a stream over a cap (the `retry:` is drawn per stream). */
  limitFrame: () => string
  /** Monotonic milliseconds. */
  now: () => number
  /**
   * Starts the shared timer: calls `tick` every `periodMs` until the returned function is
   * called. Default: an unref'ed setInterval. Given, it lets time advance only when the caller
   * says, so heartbeats, stalls and deadlines can be checked without waiting.
   */
  every?: (periodMs: number, tick: () => void) => () => void
  /**
   * Calls `fire` once after `delayMs`; the returned function cancels it. Default: an unref'ed
   * setTimeout. Expiries set by the application use it, so they end on time rather than at
   * the shared timer's next tick.
   */
  after?: (delayMs: number, fire: () => void) => () => void
}

/** What the registry tracks beyond the set, for streams that need it. */
interface Tracked {
  limitKey: string | undefined
  slot: boolean
  deadline: number
  deadlineReason: EndReason
  openedAt: number
  request: FastifyReply['request'] | null
  // Cancels the one-shot timer of an application's expiry, when one is armed.
  cancelExpiry: (() => void) | null
}

// Without heartbeats or stall checks the timer still runs for deadlines, this often.
const DEADLINE_PERIOD_MS = 1000

/**
 * Every open stream of one plugin instance. One shared timer drives heartbeats, stall checks
 * and lifetimes for all of them (a timer per connection would cost memory per idle client),
 * and runs only while a stream is open, so nothing keeps the process alive after the last one.
 * It also holds the stream caps: a slot is taken in {@link add} and given back in
 * {@link connectionEnded}, which every way a stream ends goes through.
 */
export class Registry implements EndListener {
  readonly connections = new Set<Connection>()
  readonly limits: Limits
  readonly now: () => number
  /** Streams ended, by reason. */
  readonly ended: Record<EndReason, number> = { end: 0, client: 0, error: 0, shutdown: 0, stalled: 0, overflow: 0, lifetime: 0, expired: 0, limit: 0, budget: 0 }
  opened = 0
  // Tracked streams with a deadline: the timer must run for them even without heartbeats.
  private deadlines = 0
  private readonly tracked = new Map<Connection, Tracked>()
  private stopTimer: (() => void) | undefined
  private readonly periodMs: number
  private readonly every: (periodMs: number, tick: () => void) => () => void
  private readonly after: (delayMs: number, fire: () => void) => () => void

  constructor (private readonly options: RegistryOptions) {
    const { heartbeatMs, stallTimeoutMs } = options
    const shortest = Math.min(heartbeatMs || Infinity, stallTimeoutMs || Infinity)
    // Half the shortest interval bounds the error of both checks; never busier than every 5 ms.
    this.periodMs = Number.isFinite(shortest) ? Math.max(5, Math.min(DEADLINE_PERIOD_MS, Math.floor(shortest / 2))) : 0
    this.limits = new Limits(options.maxStreams, options.maxStreamsPerKey)
    this.now = options.now
    this.every = options.every ?? intervalOf
    this.after = options.after ?? timeoutOf
  }

  get size (): number {
    return this.connections.size
  }

  /** Registers an open stream; with a plan, takes its slot (or ends it as over a cap) and arms its deadline. */
  add (conn: Connection, reply?: FastifyReply): void {
    const plan = reply === undefined ? undefined : (reply as { [kPlan]?: StreamPlan | null })[kPlan] ?? undefined
    if (reply !== undefined) (reply as { [kConn]?: Connection })[kConn] = conn
    this.connections.add(conn)
    conn.onEnd(this)
    this.opened++
    const watching = diagnostics.open.hasSubscribers || diagnostics.end.hasSubscribers
    if (plan !== undefined || watching) {
      const limitKey = plan?.limitKey
      const tracked: Tracked = {
        limitKey,
        slot: false,
        deadline: Infinity,
        deadlineReason: 'lifetime',
        openedAt: this.now(),
        request: watching && reply !== undefined ? reply.request : null,
        cancelExpiry: null
      }
      this.tracked.set(conn, tracked)
      if (diagnostics.open.hasSubscribers) {
        diagnostics.open.publish({ request: reply?.request, reply, openStreams: this.connections.size })
      }
      if (plan !== undefined) {
        if (plan.reserved) {
          // Taken before the producer ran: handed over to the stream.
          plan.reserved = false
        } else if (plan.refused || !this.limits.acquire(limitKey)) {
          conn.end('limit', this.options.limitFrame())
          return
        }
        tracked.slot = true
        if (plan.lifetimeMs > 0) tracked.deadline = tracked.openedAt + plan.lifetimeMs
        if (plan.expiresAt < tracked.deadline) {
          tracked.deadline = plan.expiresAt
          tracked.deadlineReason = 'expired'
        }
        if (tracked.deadline !== Infinity) this.deadlines++
        if (tracked.deadlineReason === 'expired' && this.armExpiry(conn, tracked)) return
      }
    }
    this.startTimer()
  }

  /**
   * Takes the cap slot of a stream about to start, before its producer runs: a burst of
   * requests over a cap calls no producer beyond it. False (and the plan marked refused) when a
   * cap is reached. The slot passes to the stream in {@link add}, or back in {@link unreserve}.
   */
  reserve (plan: StreamPlan): boolean {
    if (plan.reserved) return true
    plan.refused = !this.limits.acquire(plan.limitKey)
    plan.reserved = !plan.refused
    return plan.reserved
  }

  /** Gives back a slot {@link reserve} took for a stream that never opened (its start failed, or its client left first). */
  unreserve (reply: FastifyReply): void {
    const plan = (reply as { [kPlan]?: StreamPlan | null })[kPlan]
    if (plan == null || !plan.reserved) return
    plan.reserved = false
    this.limits.release(plan.limitKey)
  }

  /** Ends the stream at clock time `at` (an application's `expireAt()` after the stream opened); at once when that time has passed. */
  expire (conn: Connection, at: number): void {
    if (conn.closed || !this.connections.has(conn)) return
    let tracked = this.tracked.get(conn)
    if (tracked === undefined) {
      tracked = { limitKey: undefined, slot: false, deadline: Infinity, deadlineReason: 'expired', openedAt: this.now(), request: null, cancelExpiry: null }
      this.tracked.set(conn, tracked)
    }
    if (at >= tracked.deadline) return
    if (tracked.deadline === Infinity) this.deadlines++
    tracked.deadline = at
    tracked.deadlineReason = 'expired'
    if (this.armExpiry(conn, tracked)) return
    this.startTimer()
  }

  /**
   * An application's expiry: past already, the stream ends now, before anything more is sent
   * (true); else a one-shot timer ends it on time. Lifetimes stay on the shared timer: they are
   * jittered by a fifth anyway, and a timer each would cost every stream.
   */
  private armExpiry (conn: Connection, tracked: Tracked): boolean {
    tracked.cancelExpiry?.()
    tracked.cancelExpiry = null
    const delay = tracked.deadline - this.now()
    if (delay <= 0) {
      conn.end('expired', this.options.reconnectFrame)
      return true
    }
    tracked.cancelExpiry = this.after(Math.ceil(delay), () => {
      tracked.cancelExpiry = null
      if (conn.closed || this.tracked.get(conn) !== tracked) return
      // The clock decides: a timer that fired early (or another clock) is armed again.
      this.armExpiry(conn, tracked)
    })
    return false
  }

  connectionEnded (conn: Connection): void {
    if (!this.connections.delete(conn)) return
    const reason = conn.reason ?? 'end'
    this.ended[reason] = (this.ended[reason] ?? 0) + 1
    const tracked = this.tracked.get(conn)
    if (tracked !== undefined) {
      this.tracked.delete(conn)
      if (tracked.deadline !== Infinity) this.deadlines--
      tracked.cancelExpiry?.()
      if (tracked.slot) this.limits.release(tracked.limitKey)
      if (diagnostics.end.hasSubscribers) {
        diagnostics.end.publish({
          request: tracked.request ?? undefined,
          reason: conn.reason,
          events: conn.events,
          durationMs: this.now() - tracked.openedAt
        })
      }
    }
    if (this.connections.size === 0 && this.stopTimer !== undefined) {
      const stop = this.stopTimer
      this.stopTimer = undefined
      stop()
    }
  }

  tick (): void {
    const now = this.now()
    for (const conn of this.connections) conn.tick(now)
    if (this.tracked.size === 0) return
    for (const [conn, tracked] of this.tracked) {
      if (now >= tracked.deadline) conn.end(tracked.deadlineReason, this.options.reconnectFrame)
    }
  }

  metrics (): StreamMetrics {
    return { streamsOpened: this.opened, streamsEnded: { ...this.ended }, limitKeys: this.limits.keys }
  }

  /** Ends every open stream, each with the given last block. */
  endAll (reason: EndReason, last?: string): void {
    for (const conn of [...this.connections]) conn.end(reason, last)
  }

  private startTimer (): void {
    if (this.stopTimer !== undefined || this.connections.size === 0) return
    const period = this.periodMs > 0 ? this.periodMs : this.deadlines > 0 ? DEADLINE_PERIOD_MS : 0
    if (period === 0) return
    this.stopTimer = this.every(period, () => this.tick())
  }
}

function timeoutOf (delayMs: number, fire: () => void): () => void {
  const timer = setTimeout(fire, delayMs)
  timer.unref()
  return () => clearTimeout(timer)
}

function intervalOf (periodMs: number, tick: () => void): () => void {
  const timer = setInterval(tick, periodMs)
  timer.unref()
  return () => clearInterval(timer)
}
