import type { Connection, EndListener } from './connection.js'
import type { ItemEncoder, SseItem } from './encode.js'
import { FST_SSE_PRODUCER } from './errors.js'
import { describeThrown, producerError } from './thrown.js'

export type AnyIterator<T> = AsyncIterator<T> | Iterator<T>

/**
 * Moves items from a producer to a connection, one at a time: the next item is pulled only
 * when the client has room for it. Resolves (never rejects) with the error that stopped the
 * stream, if any.
 *
 * The stream ending (client gone, stall, shutdown) settles the pump at once and calls the
 * producer's `return()`, even while a `next()` is still pending: a generator suspended in an
 * await that ignores the signal cannot hold the stream open. The late result is dropped.
 *
 * Whatever the producer does (throw any value, break the iterator protocol, never settle),
 * the pump settles exactly once and nothing it runs can throw past it.
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

/**
 * What a pending `next()` can reach. A producer stuck forever keeps its promise's reactions
 * alive, and with them whatever they reference: only this object, emptied when the stream
 * ends, so the connection, the response and the request are not pinned by a stuck producer.
 */
interface Link {
  pump: Pump | null
}

class Pump implements EndListener {
  private finished = false
  // True once the producer finished, threw or broke the protocol: return() is then not owed.
  private settled = false
  private empties = 0
  private next: unknown = undefined
  private link: Link | null
  private readonly onResult: (result: unknown) => void
  private readonly onFailure: (err: unknown) => void
  private readonly onWritable: () => void

  constructor (
    private readonly conn: Connection,
    private readonly iterator: AnyIterator<SseItem>,
    private readonly encode: ItemEncoder,
    private readonly maxEventBytes: number,
    private readonly resolve: (error: Error | undefined) => void
  ) {
    const link: Link = { pump: this }
    this.link = link
    // Allocated once per stream, not per item: the per-item cost is one promise reaction. Made
    // outside this constructor: closures made here would share its context, `this` included.
    this.onResult = resultHandler(link)
    this.onFailure = failureHandler(link)
    this.onWritable = writableHandler(link)
    conn.onEnd(this)
  }

  /** The stream ended (client gone, stall, shutdown): the producer is cancelled. */
  connectionEnded (): void {
    this.stop(undefined)
  }

  /** A failure of the producer (it threw, rejected, or broke the protocol): no return() is owed. */
  failed (err: unknown): void {
    this.settled = true
    this.stop(producerError(err))
  }

  run (): void {
    const iterator = this.iterator
    while (!this.finished) {
      let result: unknown
      try {
        // Read once, as for-await reads it. An async generator's own next() always answers a
        // fresh native promise: the checks below are for every other kind of producer.
        const next = (this.next ??= iterator.next)
        if (next === asyncGeneratorNext) {
          promiseThen.call(asyncGeneratorNext.call(iterator), this.onResult, this.onFailure)
          return
        }
        result = (next as () => unknown).call(iterator)
        if (isThenable(result)) {
          if (isPlainPromise(result)) promiseThen.call(result, this.onResult, this.onFailure)
          // Any other thenable is adopted by a promise of ours: its then() runs later, once,
          // and cannot call back into the pump synchronously or twice.
          else promiseThen.call(new Promise(adopt(result)), this.onResult, this.onFailure)
          return
        }
      } catch (err) {
        this.failed(err)
        return
      }
      if (!this.take(result)) return
    }
  }

  /** Handles one result; true when the next item can be pulled right away. */
  take (result: unknown): boolean {
    if (this.finished) return false
    let chunk: string
    // Failures reading the result are the producer's (it owes no return()); failures encoding
    // the item are the stream's (the producer is cancelled).
    let reading = true
    try {
      if (result === null || (typeof result !== 'object' && typeof result !== 'function')) {
        throw new FST_SSE_PRODUCER(`its iterator result is ${describeThrown(result)}, not an object`)
      }
      if ((result as IteratorResult<SseItem>).done) {
        this.settled = true
        this.stop(undefined)
        return false
      }
      const item = (result as IteratorResult<SseItem>).value
      reading = false
      chunk = this.encode(item, this.maxEventBytes)
    } catch (err) {
      if (reading) this.settled = true
      this.stop(producerError(err))
      return false
    }
    if (chunk === '') {
      // Items that write nothing meet no backpressure: now and then let I/O (a client that
      // left, a shutdown) in, or a producer of nothing but empty items would hold the loop.
      if (++this.empties % 1024 !== 0) return true
      setImmediate(this.onWritable)
      return false
    }
    if (this.conn.write(chunk)) return true
    this.conn.whenWritable().then(this.onWritable)
    return false
  }

  private stop (error: Error | undefined): void {
    if (this.finished) return
    this.finished = true
    // From here on a late result, failure or drain reaches nothing.
    if (this.link !== null) this.link.pump = null
    this.link = null
    if (!this.settled) cancel(this.iterator)
    this.resolve(error)
  }
}

/**
 * Calls `return()` without waiting: a generator suspended in an await runs its finally later.
 * Never throws, whatever `return` is or does.
 */
export function cancel (iterator: AnyIterator<unknown>): void {
  try {
    const method: unknown = iterator.return
    if (typeof method !== 'function') return
    const result: unknown = (method as (this: unknown) => unknown).call(iterator)
    // Only a native promise can become an unhandled rejection; a foreign thenable's then() is
    // not worth running.
    if (isPlainPromise(result)) promiseThen.call(result, undefined, ignore)
  } catch {
    // A throwing return() is the producer's problem; the stream is over either way.
  }
}

const PromisePrototype = Promise.prototype
const promiseThen = PromisePrototype.then
// %AsyncGeneratorPrototype%.next, the next() of every async generator object.
const asyncGeneratorNext = (Object.getPrototypeOf(Object.getPrototypeOf((async function * () {})())) as AsyncGenerator).next

export function isThenable<T> (value: unknown): value is PromiseLike<T> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<T>).then === 'function'
}

/**
 * A promise whose then() is the built-in one and whose species is Promise: subscribing to it
 * runs no producer code. (An async generator's next() always returns one.)
 */
function isPlainPromise (value: unknown): value is Promise<unknown> {
  return value instanceof Promise && Object.getPrototypeOf(value) === PromisePrototype && !Object.hasOwn(value, 'constructor')
}

function resultHandler (link: Link): (result: unknown) => void {
  return (result) => {
    const pump = link.pump
    if (pump !== null && pump.take(result)) pump.run()
  }
}

function failureHandler (link: Link): (err: unknown) => void {
  return (err) => {
    link.pump?.failed(err)
  }
}

function writableHandler (link: Link): () => void {
  return () => {
    link.pump?.run()
  }
}

function adopt (thenable: unknown): (resolve: (value: unknown) => void) => void {
  return (resolve) => resolve(thenable)
}

function ignore (): void {}
