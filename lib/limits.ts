/**
 * Caps on open streams: one for the whole plugin instance, one per key (a user id, a client
 * address: whatever the application derives from the request). A slot is taken when a stream
 * opens and given back exactly once when it ends, whatever ends it.
 */
export class Limits {
  private total = 0
  private readonly perKey = new Map<string, number>()

  constructor (readonly maxStreams: number, readonly maxPerKey: number) {}

  get keys (): number {
    return this.perKey.size
  }

  /** Takes a slot; false (nothing taken) when a cap is reached. */
  acquire (key: string | undefined): boolean {
    if (this.total >= this.maxStreams) return false
    if (key !== undefined) {
      const count = this.perKey.get(key) ?? 0
      if (count >= this.maxPerKey) return false
      this.perKey.set(key, count + 1)
    }
    this.total++
    return true
  }

  release (key: string | undefined): void {
    this.total--
    if (key === undefined) return
    const count = (this.perKey.get(key) ?? 1) - 1
    // Deleted at zero: keys come from clients, and an idle key must not hold memory.
    if (count <= 0) this.perKey.delete(key)
    else this.perKey.set(key, count)
  }

  /** Whether a stream for `key` would be admitted now (nothing is taken). */
  admits (key: string | undefined): boolean {
    if (this.total >= this.maxStreams) return false
    return key === undefined || (this.perKey.get(key) ?? 0) < this.maxPerKey
  }
}
