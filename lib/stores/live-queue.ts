import type { LiveItem, LiveSubscription } from './types.js'

/**
 * One store subscription's live items, in order, behind its async iterator: what the memory
 * and Redis stores hand to `subscribe()`. Its consumer is the hub, which drains each item in a
 * microtask; a queue `max` items long means it stopped draining, and the consumer then gets a
 * `lost` reset (at `head()`) instead of unbounded memory.
 */
export class LiveQueue implements LiveSubscription, AsyncIterator<LiveItem> {
  private queue: LiveItem[] = []
  private read = 0
  private waiter: ((result: IteratorResult<LiveItem>) => void) | null = null
  private done = false

  constructor (
    private readonly max: number,
    private readonly head: () => string,
    private readonly onClose: (queue: LiveQueue) => void
  ) {}

  push (item: LiveItem): void {
    if (this.done) return
    const waiter = this.waiter
    if (waiter !== null) {
      this.waiter = null
      waiter({ value: item, done: false })
      return
    }
    if (this.queue.length - this.read >= this.max) {
      this.queue = [{ type: 'reset', reason: 'lost', head: this.head() }]
      this.read = 0
      return
    }
    this.queue.push(item)
  }

  next (): Promise<IteratorResult<LiveItem>> {
    if (this.read < this.queue.length) {
      const value = this.queue[this.read++] as LiveItem
      if (this.read === this.queue.length) {
        this.queue = []
        this.read = 0
      }
      return Promise.resolve({ value, done: false })
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve) => {
      this.waiter = resolve
    })
  }

  async return (): Promise<IteratorResult<LiveItem>> {
    await this.close()
    return { value: undefined, done: true }
  }

  [Symbol.asyncIterator] (): AsyncIterator<LiveItem> {
    return this
  }

  /** The consumer is done: the store releases it. */
  async close (): Promise<void> {
    if (this.done) return
    this.end()
    this.onClose(this)
  }

  /** Ends iteration (the store closed, or the subscription did). */
  end (): void {
    if (this.done) return
    this.done = true
    this.queue = []
    this.read = 0
    const waiter = this.waiter
    this.waiter = null
    waiter?.({ value: undefined, done: true })
  }
}
