/**
 * Live delivery for one stream key on one instance: a single Pub/Sub subscription shared by
 * every local subscriber, an instance cursor `(epoch, offset)`, and repair from the log
 * whenever the Pub/Sub feed skips, changes epoch, or may have lost messages.
 *
 * Pub/Sub frames are only hints; the log is the truth. Whenever a frame is not exactly the
 * next offset, the tail reads the log after its cursor, which settles every frame received
 * before that read was sent: such a frame is then either already delivered or stale.
 */
import { formatEventId, splitEventId } from '../event-id.js'
import type { LiveQueue } from './live-queue.js'
import type { LiveItem, ReadResult, StoredEvent } from './types.js'

export interface Frame {
  epoch: string
  offset: number
  /** Absent on a bare position notice (a new epoch was created). */
  event?: StoredEvent
}

/** `<ep>:<offset>` (position notice) or `<ep>:<offset>:<ts>:<tag>:<event><data>`. */
export function parseFrame (message: string): Frame | undefined {
  const a = message.indexOf(':')
  if (a < 0) return undefined
  const b = message.indexOf(':', a + 1)
  const epoch = message.slice(0, a)
  if (b < 0) {
    const offset = Number(message.slice(a + 1))
    return Number.isSafeInteger(offset) ? { epoch, offset } : undefined
  }
  const c = message.indexOf(':', b + 1)
  const d = c < 0 ? -1 : message.indexOf(':', c + 1)
  if (d < 0) return undefined
  const offset = Number(message.slice(a + 1, b))
  const ts = Number(message.slice(b + 1, c))
  const tag = message.slice(c + 1, d)
  if (!Number.isSafeInteger(offset) || !Number.isFinite(ts)) return undefined
  const rest = message.slice(d + 1)
  const event: StoredEvent = { id: formatEventId(epoch, offset), offset, data: rest, ts }
  if (tag !== '-') {
    const length = Number(tag)
    if (!Number.isSafeInteger(length) || length < 0 || length > rest.length) return undefined
    event.event = rest.slice(0, length)
    event.data = rest.slice(length)
  }
  return { epoch, offset, event }
}

/** What a tail needs from the store. */
export interface KeyTailHost {
  /** The log after `(epoch, offset)`, bounded. */
  readAfter: (epoch: string, offset: number) => Promise<ReadResult>
  /** Reads the head (creating the epoch if needed). */
  head: () => Promise<string>
  subscribe: () => Promise<void>
  unsubscribe: () => void
  lingerMs: number
  maxQueuedItems: number
  maxBufferedFrames: number
  /** Most recently delivered events kept to answer replays locally (count, and data characters). */
  recentEvents: number
  recentBytes: number
  /** Data characters kept by all tails of the store together, and their cap. */
  recentBudget: { used: number, max: number }
  onError: (err: Error) => void
}

interface Cursor { epoch: string, offset: number }

/** Catch-up pages per repair before yielding to other work; the next pass continues. */
const MAX_PAGES = 50

export class KeyTail {
  cursor: Cursor | undefined
  readonly subscribers = new Set<LiveQueue>()
  /** Resolves once subscribed and positioned; rejects if that failed. */
  readonly ready: Promise<void>
  private frames: Frame[] = []
  private readonly recent: StoredEvent[] = []
  private recentBytes = 0
  private dirty = false
  private busy = false
  private closed = false
  private linger: NodeJS.Timeout | undefined
  private retry: NodeJS.Timeout | undefined

  constructor (private readonly host: KeyTailHost, private readonly onIdle: (tail: KeyTail) => void) {
    this.ready = this.start()
  }

  private async start (): Promise<void> {
    await this.host.subscribe()
    // Positioned only after the subscription is confirmed: every frame from here on is
    // buffered meanwhile and merged by offset.
    const head = await this.host.head()
    this.cursor = splitEventId(head)
    this.kick()
  }

  /** A Pub/Sub message for this tail's channel. */
  receive (frame: Frame): void {
    if (this.closed) return
    if (this.frames.length >= this.host.maxBufferedFrames) {
      // Frames are only hints: dropping them costs one read of the log, not events.
      this.frames = []
      this.dirty = true
    }
    this.frames.push(frame)
    this.kick()
  }

  /** The feed may have lost messages (reconnect) or the position check saw the log move. */
  resync (): void {
    if (this.closed) return
    this.dirty = true
    this.kick()
  }

  /** Whether the instance cursor trails what the position check saw. */
  behind (epoch: string | null, top: number): boolean {
    const c = this.cursor
    return c !== undefined && !this.busy && (epoch !== c.epoch || top !== c.offset)
  }

  attach (queue: LiveQueue): void {
    clearTimeout(this.linger)
    this.linger = undefined
    this.subscribers.add(queue)
  }

  detach (queue: LiveQueue): void {
    this.subscribers.delete(queue)
    if (this.subscribers.size > 0 || this.closed) return
    // Lingering keeps connect/disconnect churn from turning into SUBSCRIBE churn.
    clearTimeout(this.linger)
    this.linger = setTimeout(() => this.close(), this.host.lingerMs)
    this.linger.unref()
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.linger)
    clearTimeout(this.retry)
    for (const queue of this.subscribers) queue.end()
    this.subscribers.clear()
    this.frames = []
    this.forget()
    this.onIdle(this)
    this.host.unsubscribe()
  }

  /**
   * The events after `(epoch, offset)` from what this instance delivered most recently, when
   * they are all still here and end at the cursor: a reconnect storm on one stream is then
   * served without Redis. Undefined when only the log can answer.
   */
  recentAfter (epoch: string, offset: number, count: number, maxBytes: number): StoredEvent[] | undefined {
    const c = this.cursor
    if (c === undefined || c.epoch !== epoch || offset > c.offset) return undefined
    if (offset === c.offset) return []
    const recent = this.recent
    const first = recent[0]
    if (first === undefined || offset + 1 < first.offset || recent[recent.length - 1]?.offset !== c.offset) return undefined
    const start = offset + 1 - first.offset
    const end = Math.min(recent.length, start + count)
    let bytes = 0
    for (let i = start; i < end; i++) {
      bytes += (recent[i] as StoredEvent).data.length
      if (bytes > maxBytes) return recent.slice(start, Math.max(start + 1, i))
    }
    return recent.slice(start, end)
  }

  /**
   * Keeps events a replay read from the log when they lead up to what this instance holds:
   * the next client with the same (or a later) cursor is answered here.
   */
  learn (events: StoredEvent[]): void {
    const c = this.cursor
    const last = events[events.length - 1]
    if (c === undefined || last === undefined || last.id !== formatEventId(c.epoch, last.offset)) return
    const recent = this.recent
    const next = recent[0]?.offset ?? c.offset + 1
    if (last.offset + 1 !== next || (recent.length === 0 && last.offset !== c.offset)) return
    let bytes = 0
    for (const event of events) bytes += event.data.length
    recent.unshift(...events)
    this.account(bytes)
    this.trimRecent()
  }

  private deliver (item: LiveItem): void {
    this.remember(item)
    for (const queue of this.subscribers) queue.push(item)
  }

  /** Keeps the newest delivered events, contiguous and of the cursor's epoch, within bounds. */
  private remember (item: LiveItem): void {
    const recent = this.recent
    if (item.type !== 'event') {
      this.forget()
      return
    }
    const event = item.event
    if (recent.length > 0 && recent[recent.length - 1]?.offset !== event.offset - 1) this.forget()
    recent.push(event)
    this.account(event.data.length)
    this.trimRecent()
  }

  private account (bytes: number): void {
    this.recentBytes += bytes
    this.host.recentBudget.used += bytes
  }

  private forget (): void {
    this.recent.length = 0
    this.account(-this.recentBytes)
  }

  private trimRecent (): void {
    const recent = this.recent
    const { recentEvents, recentBytes, recentBudget } = this.host
    // The store-wide budget is enforced by whichever tail grows past it: many quiet
    // streams never add up to more than the cap.
    while (recent.length > recentEvents || (recent.length > 0 && (this.recentBytes > recentBytes || recentBudget.used > recentBudget.max))) {
      this.account(-(recent.shift() as StoredEvent).data.length)
    }
  }

  /** Runs the pump in the background: a failure it did not foresee goes to `onError`, never to an unhandled rejection. */
  private kick (): void {
    this.pump().catch((err: unknown) => this.host.onError(err as Error))
  }

  private async pump (): Promise<void> {
    if (this.busy || this.cursor === undefined || this.closed) return
    this.busy = true
    try {
      while (!this.closed) {
        if (this.dirty) {
          // Everything buffered so far arrived before this read is sent, so the read settles it.
          const settled = this.frames.length
          if (!await this.sync()) return this.scheduleRetry()
          this.dirty = false
          for (const frame of this.frames.splice(0, settled)) this.take(frame, false)
          continue
        }
        const frame = this.frames.shift()
        if (frame === undefined) break
        if (!this.take(frame, true)) {
          this.frames.unshift(frame)
          this.dirty = true
        }
      }
    } finally {
      this.busy = false
    }
  }

  /** Delivers the frame if it is the next offset; false when the log must be read first. */
  private take (frame: Frame, mayRepair: boolean): boolean {
    const c = this.cursor as Cursor
    if (frame.epoch === c.epoch) {
      if (frame.offset <= c.offset) return true
      if (frame.offset === c.offset + 1 && frame.event !== undefined) {
        c.offset = frame.offset
        this.deliver({ type: 'event', event: frame.event })
        return true
      }
    }
    // A hole, another epoch or a position notice: only the log can tell which.
    return !mayRepair
  }

  /** Brings the cursor up to the log's head; false if Redis could not be read (try again later). */
  private async sync (): Promise<boolean> {
    for (let page = 0; page < MAX_PAGES && !this.closed; page++) {
      const c = this.cursor as Cursor
      let result: ReadResult
      try {
        result = await this.host.readAfter(c.epoch, c.offset)
      } catch (err) {
        this.host.onError(err as Error)
        return false
      }
      if (this.closed) return true
      if (result.status === 'gap') {
        this.cursor = splitEventId(result.head)
        this.deliver({ type: 'reset', reason: result.reason === 'epoch' ? 'epoch' : 'lost', head: result.head })
        return true
      }
      for (const event of result.events) {
        if (event.offset !== c.offset + 1) continue
        c.offset = event.offset
        this.deliver({ type: 'event', event })
      }
      if (result.complete) return true
    }
    this.dirty = true
    return true
  }

  private scheduleRetry (): void {
    if (this.closed || this.retry !== undefined) return
    this.retry = setTimeout(() => {
      this.retry = undefined
      this.kick()
    }, 1000)
    this.retry.unref()
  }
}
