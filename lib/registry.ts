import type { Connection, ConnectionOwner, EndReason } from './connection.js'

/**
 * Every open stream of one plugin instance. One shared timer drives heartbeats and stall
 * checks for all of them (a timer per connection would cost memory per idle client), and
 * runs only while a stream is open, so nothing keeps the process alive after the last one.
 */
export class Registry implements ConnectionOwner {
  readonly connections = new Set<Connection>()
  private timer: NodeJS.Timeout | undefined
  private readonly periodMs: number

  constructor (heartbeatMs: number, stallTimeoutMs: number) {
    const shortest = Math.min(heartbeatMs || Infinity, stallTimeoutMs || Infinity)
    // Half the shortest interval bounds the error of both checks; never busier than every 5 ms.
    this.periodMs = Number.isFinite(shortest) ? Math.max(5, Math.min(1000, Math.floor(shortest / 2))) : 0
  }

  get size (): number {
    return this.connections.size
  }

  add (conn: Connection): void {
    this.connections.add(conn)
    if (this.timer === undefined && this.periodMs > 0) {
      this.timer = setInterval(tickAll, this.periodMs, this)
      this.timer.unref()
    }
    conn.owner = this
  }

  remove (conn: Connection): void {
    this.connections.delete(conn)
    if (this.connections.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer)
      this.timer = undefined
    }
  }

  tick (): void {
    const now = performance.now()
    for (const conn of this.connections) conn.tick(now)
  }

  /** Ends every open stream, each with the given last block. */
  endAll (reason: EndReason, last?: string): void {
    for (const conn of [...this.connections]) conn.end(reason, last)
  }
}

function tickAll (registry: Registry): void {
  registry.tick()
}
