import type { Connection } from './connection.js'
import type { SseItem } from './encode.js'
import { FST_SSE_PRODUCER } from './errors.js'
import { assertSize } from './size.js'

/** Validates and encodes one item into one event block (or '' for nothing to send). */
export type ItemEncoder = (item: SseItem) => string

export type AnyIterator<T> = AsyncIterator<T> | Iterator<T>

/**
 * Moves items from a producer to a connection, one at a time: the next item is pulled only
 * when the client has room for it. Resolves (never rejects) with the error that stopped the
 * stream, if any.
 *
 * The stream ending (client gone, stall, shutdown) settles the pump at once and calls the
 * producer's `return()`, even while a `next()` is still pending: a generator suspended in an
 * await that ignores the signal cannot hold the stream open. The late result is dropped.
 */
export function pump (
  conn: Connection,
  iterator: AnyIterator<SseItem>,
  encode: ItemEncoder,
  maxEventBytes: number
): Promise<Error | undefined> {
  return new Promise((resolve) => {
    new Pump(conn, iterator, encode, maxEventBytes, resolve).run()
  })
}

class Pump {
  private finished = false
  // True once the producer finished or threw: its return() would then be a no-op.
  private settled = false
  private readonly onResult: (result: IteratorResult<SseItem>) => void
  private readonly onFailure: (err: unknown) => void
  private readonly onWritable: () => void

  constructor (
    private readonly conn: Connection,
    private readonly iterator: AnyIterator<SseItem>,
    private readonly encode: ItemEncoder,
    private readonly maxEventBytes: number,
    private readonly resolve: (error: Error | undefined) => void
  ) {
    // Allocated once per stream, not per item: the per-item cost is one promise reaction.
    this.onResult = (result) => {
      if (!this.finished && this.take(result)) this.run()
    }
    this.onFailure = (err) => {
      this.settled = true
      this.stop(toError(err))
    }
    this.onWritable = () => {
      if (!this.finished) this.run()
    }
    conn.onEnd(() => this.stop(undefined))
  }

  run (): void {
    while (!this.finished) {
      let next: IteratorResult<SseItem> | PromiseLike<IteratorResult<SseItem>>
      try {
        next = this.iterator.next()
      } catch (err) {
        this.onFailure(err)
        return
      }
      if (isThenable(next)) {
        next.then(this.onResult, this.onFailure)
        return
      }
      if (!this.take(next)) return
    }
  }

  /** Handles one result; true when the next item can be pulled right away. */
  private take (result: IteratorResult<SseItem>): boolean {
    if (result.done === true) {
      this.settled = true
      this.stop(undefined)
      return false
    }
    let chunk: string
    try {
      chunk = this.encode(result.value)
      assertSize(chunk, this.maxEventBytes)
    } catch (err) {
      this.stop(toError(err))
      return false
    }
    if (chunk === '' || this.conn.write(chunk)) return true
    this.conn.whenWritable().then(this.onWritable)
    return false
  }

  private stop (error: Error | undefined): void {
    if (this.finished) return
    this.finished = true
    if (!this.settled) cancel(this.iterator)
    this.resolve(error)
  }
}

/** Calls `return()` without waiting: a generator suspended in an await runs its finally later. */
export function cancel (iterator: AnyIterator<unknown>): void {
  if (typeof iterator.return !== 'function') return
  try {
    const result = iterator.return()
    if (isThenable(result)) result.then(undefined, ignore)
  } catch {
    // A throwing return() is the producer's problem; the stream is over either way.
  }
}

function toError (err: unknown): Error {
  return err instanceof Error ? err : new FST_SSE_PRODUCER(String(err))
}

export function isThenable<T> (value: unknown): value is PromiseLike<T> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<T>).then === 'function'
}

function ignore (): void {}
