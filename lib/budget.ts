import type { Connection, QueueBudget } from './connection.js'

/**
 * The budget for bytes queued to clients that are not keeping up, shared by every stream of one
 * plugin instance: each client is bounded by maxBufferedBytes, and this bounds their sum. Over
 * it, the clients furthest behind are disconnected first (end reason `budget`) until the sum is
 * back under it; they reconnect and, on replay streams, resume from their last id.
 *
 * Only clients whose writes are refused are tracked (the others hold at most one socket
 * high-water mark and one batch each). The running total is an upper bound, raised by every
 * refused write and never lowered by what clients read meanwhile, so the exact sum is taken
 * only when that bound passes the budget, and at most once per 1/64 of it: a sum hovering at the
 * budget is not recounted on every write. The exact sum may so pass the budget by that much.
 */
export class Budget implements QueueBudget {
  private readonly behind = new Set<Connection>()
  // An upper bound of what the tracked clients have queued.
  private bound = 0
  // The bound at which the exact sum is taken next.
  private checkAt: number
  private readonly slack: number

  constructor (readonly maxBytes: number) {
    this.checkAt = maxBytes
    this.slack = Math.max(1, Math.floor(maxBytes / 64))
  }

  /** Clients tracked as behind. */
  get size (): number {
    return this.behind.size
  }

  /** What the clients behind have queued, at most (exact after each check). */
  get queued (): number {
    return this.bound
  }

  grew (conn: Connection, bytes: number): void {
    if (this.behind.has(conn)) this.bound += bytes
    else {
      this.behind.add(conn)
      this.bound += conn.queued
    }
    if (this.bound > this.checkAt) this.check()
  }

  drained (conn: Connection): void {
    // What it had queued leaves the bound at the next check; until then the bound stays an upper one.
    if (this.behind.delete(conn) && this.behind.size === 0) {
      this.bound = 0
      this.checkAt = this.maxBytes
    }
  }

  /** Counts exactly, and disconnects the clients furthest behind while the sum is over the budget. */
  private check (): void {
    let total = 0
    for (const conn of this.behind) total += conn.queued
    if (total > this.maxBytes) {
      const furthest = [...this.behind].map((conn) => ({ conn, queued: conn.queued })).sort((a, b) => b.queued - a.queued)
      for (const { conn, queued } of furthest) {
        if (total <= this.maxBytes) break
        total -= queued
        // Leaves `behind` through drained(), called as the connection ends.
        conn.destroy('budget')
      }
    }
    this.bound = total
    this.checkAt = Math.max(this.maxBytes, total + this.slack)
  }
}
