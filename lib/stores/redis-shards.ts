/**
 * Live delivery on a Redis Cluster: sharded Pub/Sub (SSUBSCRIBE), one connection per primary
 * that owns a subscribed channel's slot, however many channels it carries.
 *
 * A shard channel's subscription lives on the node that owned its slot when it was made. It is
 * lost when that node dies (failover), or when the slot moves to another primary (Redis ends it
 * with an unasked `sunsubscribe`). Each such channel is routed again from a fresh slot map and
 * subscribed on its new owner; the store is then told which channels came back, so it repairs
 * exactly their streams from the log and leaves every other shard's streams alone.
 *
 * Each channel is subscribed with its own SSUBSCRIBE: one command naming channels of several
 * slots is refused with CROSSSLOT.
 */
import { FST_SSE_STORE_UNAVAILABLE } from '../errors.js'
import { keySlot, SLOTS } from './redis-slot.js'
import type { SubscriberConnection } from './redis-client.js'

export interface ShardRange { from: number, to: number, host: string, port: number }

/** One connection to one primary, for sharded Pub/Sub only. It never reconnects by itself. */
export interface NodeLink {
  /** Resolves once the node confirmed; rejects (e.g. MOVED) when it does not serve the slot. */
  subscribe: (channel: string) => Promise<void>
  unsubscribe: (channel: string) => Promise<void>
  onMessage: (handler: (channel: string, message: string) => void) => void
  /** The node ended subscriptions it was not asked to end (their slot moved); `channels` may be a superset. */
  onDropped: (handler: (channels: string[] | undefined) => void) => void
  /** The connection is gone; its subscriptions with it. */
  onDown: (handler: (err: Error | undefined) => void) => void
  close: () => Promise<void>
}

export interface ClusterTopology {
  /** The primaries and the slots they serve, as the cluster reports them now. */
  shards: () => Promise<ShardRange[]>
  openNode: (host: string, port: number) => NodeLink
}

interface Shard {
  address: string
  link: NodeLink
  channels: Set<string>
  down: boolean
}

const RETRY_MIN_MS = 50
const RETRY_MAX_MS = 1000
/**
 * How often the slot map is compared with where each channel is subscribed. A node demoted by a
 * planned failover keeps the connection and its subscriptions open, but messages published on
 * the new primary may never reach it: without this, a stream pinned there would go silent.
 */
const VERIFY_MS = 1000

export class ShardedSubscriber implements SubscriberConnection {
  private readonly wanted = new Set<string>()
  /** Channels whose subscription is gone and must be made again on the slot's owner. */
  private readonly displaced = new Set<string>()
  private readonly shardOf = new Map<string, Shard>()
  private readonly shards = new Map<string, Shard>()
  private owners: Array<string | undefined> = []
  private mapping: Promise<void> | undefined
  private rerouting: Promise<void> | undefined
  private retryMs = RETRY_MIN_MS
  private retry: NodeJS.Timeout | undefined
  private closed = false
  private handler: (channel: string, message: string) => void = () => {}
  private reconnect: (channels?: string[]) => void = () => {}

  private readonly verifier: NodeJS.Timeout

  constructor (private readonly topology: ClusterTopology, private readonly onError: (err: Error) => void) {
    this.verifier = setInterval(() => { this.verify().catch((err: unknown) => this.onError(err as Error)) }, VERIFY_MS)
    this.verifier.unref()
  }

  /** How many shard connections are open, and how many channels each carries (for tests and diagnostics). */
  get connections (): Map<string, number> {
    return new Map([...this.shards].map(([address, shard]) => [address, shard.channels.size]))
  }

  async subscribe (channel: string): Promise<void> {
    this.wanted.add(channel)
    this.displaced.delete(channel)
    for (let attempt = 0; ; attempt++) {
      if (this.owners.length === 0 || attempt > 0) await this.refresh()
      const shard = this.shardFor(channel)
      try {
        await this.place(shard, channel)
        return
      } catch (err) {
        // The slot moved since the map was read (MOVED), or the node went away: map again.
        if (attempt >= 3 || this.closed || !this.wanted.has(channel)) throw err
        await sleep(RETRY_MIN_MS * 2 ** attempt)
      }
    }
  }

  async unsubscribe (channel: string): Promise<void> {
    this.wanted.delete(channel)
    this.displaced.delete(channel)
    const shard = this.shardOf.get(channel)
    if (shard === undefined) return
    this.shardOf.delete(channel)
    shard.channels.delete(channel)
    if (shard.channels.size === 0) {
      this.dropShard(shard)
      await shard.link.close()
      return
    }
    // A store closing unsubscribes its streams and then closes us: nothing to report then.
    if (!shard.down) await shard.link.unsubscribe(channel).catch((err: unknown) => { if (!this.closed) throw err })
  }

  async ready (): Promise<void> {}

  onMessage (handler: (channel: string, message: string) => void): void {
    this.handler = handler
  }

  onReconnect (handler: (channels?: string[]) => void): void {
    this.reconnect = handler
  }

  async close (): Promise<void> {
    this.closed = true
    clearTimeout(this.retry)
    clearInterval(this.verifier)
    const shards = [...this.shards.values()]
    this.shards.clear()
    this.shardOf.clear()
    await Promise.all(shards.map((s) => s.link.close()))
  }

  /** Moves every channel subscribed on a node that no longer serves its slot to the slot's owner. */
  async verify (): Promise<void> {
    if (this.shardOf.size === 0 || this.closed) return
    await this.refresh()
    for (const [channel, shard] of [...this.shardOf]) {
      if (this.owners[keySlot(channel)] === shard.address) continue
      this.displace(shard, channel)
      if (shard.channels.size === 0) {
        this.dropShard(shard)
        shard.link.close().catch(() => {})
      } else if (!shard.down) {
        shard.link.unsubscribe(channel).catch(() => {})
      }
    }
    this.scheduleReroute(true)
  }

  private async place (shard: Shard, channel: string): Promise<void> {
    shard.channels.add(channel)
    this.shardOf.set(channel, shard)
    try {
      await shard.link.subscribe(channel)
    } catch (err) {
      if (this.shardOf.get(channel) === shard) this.shardOf.delete(channel)
      shard.channels.delete(channel)
      if (shard.channels.size === 0 && !shard.down) {
        this.dropShard(shard)
        shard.link.close().catch(() => {})
      }
      throw err
    }
  }

  /** The connection to the slot's owner, opened on first use. */
  private shardFor (channel: string): Shard {
    const address = this.owners[keySlot(channel)]
    if (address === undefined) throw new FST_SSE_STORE_UNAVAILABLE('subscribe', `no primary serves the slot of ${channel}`)
    let shard = this.shards.get(address)
    if (shard !== undefined) return shard
    const [host, port] = splitAddress(address)
    const link = this.topology.openNode(host, port)
    const created: Shard = { address, link, channels: new Set(), down: false }
    shard = created
    link.onMessage((name, message) => { if (this.shardOf.get(name) === created) this.handler(name, message) })
    link.onDropped((channels) => {
      // Which subscriptions ended is not always said: every channel whose slot the node no
      // longer serves is moved, the rest stay where they are.
      for (const name of channels ?? created.channels) {
        if (created.channels.has(name)) this.displace(created, name)
      }
      if (created.channels.size === 0) {
        this.dropShard(created)
        created.link.close().catch(() => {})
      }
      this.scheduleReroute(true)
    })
    link.onDown((err) => {
      if (created.down) return
      created.down = true
      if (err !== undefined && !this.closed) this.onError(err)
      this.dropShard(created)
      for (const name of created.channels) this.displace(created, name)
      created.link.close().catch(() => {})
      this.scheduleReroute(true)
    })
    this.shards.set(address, created)
    return created
  }

  private displace (shard: Shard, channel: string): void {
    shard.channels.delete(channel)
    if (this.shardOf.get(channel) === shard) this.shardOf.delete(channel)
    if (this.wanted.has(channel)) this.displaced.add(channel)
  }

  private dropShard (shard: Shard): void {
    if (this.shards.get(shard.address) === shard) this.shards.delete(shard.address)
  }

  /** One slot map read at a time, shared by everyone waiting for it. */
  private refresh (): Promise<void> {
    this.mapping ??= this.topology.shards().then((ranges) => {
      const owners = new Array<string | undefined>(SLOTS)
      for (const r of ranges) {
        const address = r.host + ':' + String(r.port)
        for (let slot = r.from; slot <= r.to; slot++) owners[slot] = address
      }
      this.owners = owners
    }).finally(() => { this.mapping = undefined })
    return this.mapping
  }

  private scheduleReroute (now: boolean): void {
    if (this.closed || this.rerouting !== undefined || this.displaced.size === 0) return
    if (!now) {
      if (this.retry !== undefined) return
      this.retry = setTimeout(() => {
        this.retry = undefined
        this.scheduleReroute(true)
      }, this.retryMs)
      this.retry.unref()
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS)
      return
    }
    this.rerouting = this.reroute().finally(() => {
      this.rerouting = undefined
      // More may have been displaced meanwhile, or some could not be placed yet.
      if (this.displaced.size > 0) this.scheduleReroute(false)
    })
  }

  /** Subscribes every displaced channel on its slot's owner now, then has their streams repaired. */
  private async reroute (): Promise<void> {
    try {
      await this.refresh()
    } catch (err) {
      this.onError(err as Error)
      return
    }
    const channels = [...this.displaced]
    const back: string[] = []
    await Promise.all(channels.map(async (channel) => {
      if (!this.displaced.has(channel)) return
      this.displaced.delete(channel)
      try {
        await this.place(this.shardFor(channel), channel)
        if (this.wanted.has(channel)) back.push(channel)
      } catch {
        // The owner is not reachable yet (a failover in progress) or moved again: later.
        if (this.wanted.has(channel) && !this.shardOf.has(channel)) this.displaced.add(channel)
      }
    }))
    if (back.length > 0) {
      this.retryMs = RETRY_MIN_MS
      this.reconnect(back)
    }
  }
}

function splitAddress (address: string): [string, number] {
  const at = address.lastIndexOf(':')
  return [address.slice(0, at), Number(address.slice(at + 1))]
}

function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
