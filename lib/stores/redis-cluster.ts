/**
 * The store's face over the two Node Redis Cluster clients (ioredis `Cluster`, node-redis
 * `createCluster()`), told apart by duck typing. Commands go through the application's client,
 * which routes each by its first key and follows MOVED/ASK; live delivery uses sharded Pub/Sub
 * on connections of our own, one per primary (redis-shards.ts).
 */
import { FST_SSE_INVALID_STORE_OPTION, FST_SSE_STORE_UNAVAILABLE } from '../errors.js'
import { withTimeout, wrapClient, type CommandConnection, type SubscriberConnection } from './redis-client.js'
import { ShardedSubscriber, type ClusterTopology, type NodeLink, type ShardRange } from './redis-shards.js'

type Any = any

function isIoredisCluster (client: Any): boolean {
  return client !== null && typeof client === 'object' && typeof client.call === 'function' &&
    typeof client.nodes === 'function' && typeof client.refreshSlotsCache === 'function'
}

function isNodeRedisCluster (client: Any): boolean {
  return client !== null && typeof client === 'object' && typeof client.sendCommand === 'function' &&
    typeof client.nodeClient === 'function' && Array.isArray(client.masters)
}

/** A cluster client's face, or undefined when `client` is not a cluster client. */
export function wrapClusterClient (client: unknown): CommandConnection | undefined {
  if (isIoredisCluster(client)) return new IoredisCluster(client)
  if (isNodeRedisCluster(client)) return new NodeRedisCluster(client)
  return undefined
}

/** The first key of a command the store sends, which names the slot it must run on. */
function firstKey (args: string[]): string | undefined {
  const name = (args[0] as string).toUpperCase()
  if (name === 'EVALSHA' || name === 'EVAL') return Number(args[2]) > 0 ? args[3] : undefined
  if (name === 'TIME' || name === 'CLUSTER') return undefined
  return args[1]
}

/** `CLUSTER SLOTS`: slot ranges with the address of the primary serving each. */
function parseSlots (reply: unknown): ShardRange[] {
  const ranges: ShardRange[] = []
  for (const entry of reply as Any[]) {
    const primary = entry[2] as Any[]
    ranges.push({ from: Number(entry[0]), to: Number(entry[1]), host: String(primary[0]), port: Number(primary[1]) })
  }
  return ranges
}

function rejectKeyPrefix (keyPrefix: unknown): void {
  if (keyPrefix !== undefined && keyPrefix !== null && keyPrefix !== '') {
    throw new FST_SSE_INVALID_STORE_OPTION('redisStore', "the cluster client's keyPrefix is not supported: use the store's prefix option")
  }
}

abstract class ClusterFace implements CommandConnection {
  abstract readonly kind: 'ioredis' | 'node-redis'
  // A cluster client's keyPrefix is refused (see rejectKeyPrefix): the store's prefix is the only one.
  readonly keyPrefix = ''
  abstract readonly addsKeyPrefix: boolean
  abstract isReady (): boolean
  abstract send (args: string[], timeoutMs: number, what: string): Promise<unknown>
  abstract onReady (listener: () => void): () => void
  abstract openNode (host: string, port: number): NodeLink

  openSubscriber (onError: (err: Error) => void): SubscriberConnection {
    const topology: ClusterTopology = {
      shards: async () => parseSlots(await this.send(['CLUSTER', 'SLOTS'], 2000, 'cluster slots')),
      openNode: (host, port) => this.openNode(host, port)
    }
    return new ShardedSubscriber(topology, onError)
  }
}

class IoredisCluster extends ClusterFace {
  readonly kind = 'ioredis' as const
  readonly addsKeyPrefix = true
  // Readiness and commands work as on a single-node ioredis client; the cluster routes them.
  private readonly commands: CommandConnection
  constructor (private readonly client: Any) {
    super()
    rejectKeyPrefix(client.options?.keyPrefix)
    this.commands = wrapClient(client)
  }

  send (args: string[], timeoutMs: number, what: string): Promise<unknown> {
    return this.commands.send(args, timeoutMs, what)
  }

  isReady (): boolean {
    return this.commands.isReady()
  }

  onReady (listener: () => void): () => void {
    return this.commands.onReady(listener)
  }

  openNode (host: string, port: number): NodeLink {
    const any = this.client.nodes('all')[0]
    if (any === undefined) throw new FST_SSE_STORE_UNAVAILABLE('subscribe', 'the cluster client knows no node yet')
    // The cluster's own settings for its nodes, but a connection that stays down once lost:
    // the channels it carried are routed again from a fresh slot map instead.
    const sub = any.duplicate({ ...this.client.options.redisOptions, host, port, retryStrategy: null, lazyConnect: false, readOnly: false, enableOfflineQueue: true })
    const confirmed = new Set<string>()
    let message: (channel: string, message: string) => void = () => {}
    let dropped: (channels: string[] | undefined) => void = () => {}
    let down: (err: Error | undefined) => void = () => {}
    let lastError: Error | undefined
    sub.on('smessage', (channel: string, text: string) => message(channel, text))
    sub.on('error', (err: Error) => { lastError = err })
    sub.on('end', () => down(lastError))
    // Emitted for an unasked `sunsubscribe` (and a MOVED answer to ssubscribe, which also
    // rejects that command): the channels no longer in the client's set are the ones ended.
    sub.on('moved', () => {
      const now = new Set<string>(sub.condition?.subscriber ? sub.condition.subscriber.channels('ssubscribe') : [])
      const gone = [...confirmed].filter((c) => !now.has(c))
      for (const c of gone) confirmed.delete(c)
      if (gone.length > 0) dropped(gone)
    })
    return {
      subscribe: async (channel) => {
        await sub.ssubscribe(channel)
        confirmed.add(channel)
      },
      unsubscribe: async (channel) => {
        confirmed.delete(channel)
        await sub.sunsubscribe(channel)
      },
      onMessage: (h) => { message = h },
      onDropped: (h) => { dropped = h },
      onDown: (h) => { down = h },
      close: async () => {
        sub.removeAllListeners('end')
        sub.removeAllListeners('smessage')
        sub.removeAllListeners('moved')
        sub.disconnect()
      }
    }
  }
}

class NodeRedisCluster extends ClusterFace {
  readonly kind = 'node-redis' as const
  readonly addsKeyPrefix = false
  /** The next `connect`, behind one listener however many commands wait for it. */
  private connected: Promise<void> | undefined
  constructor (private readonly client: Any) {
    super()
    rejectKeyPrefix(client._keyPrefix)
  }

  async send (args: string[], timeoutMs: number, what: string): Promise<unknown> {
    const started = Date.now()
    const client = this.client
    if (client.isReady !== true) {
      if (client.isOpen !== true) throw new FST_SSE_STORE_UNAVAILABLE(what, 'the Redis client is closed or was never connected')
      this.connected ??= new Promise<void>((resolve) => client.once('connect', () => {
        this.connected = undefined
        resolve()
      }))
      await withTimeout(this.connected, timeoutMs, what + ' (Redis not connected)')
    }
    return withTimeout(client.sendCommand(firstKey(args), false, args), timeoutMs - (Date.now() - started), what)
  }

  isReady (): boolean {
    return this.client.isReady === true
  }

  onReady (listener: () => void): () => void {
    this.client.on('connect', listener)
    return () => this.client.off('connect', listener)
  }

  openNode (host: string, port: number): NodeLink {
    const cluster = this.client
    let message: (channel: string, message: string) => void = () => {}
    let dropped: (channels: string[] | undefined) => void = () => {}
    let down: (err: Error | undefined) => void = () => {}
    let gone = false
    const listener = (text: string, channel: string): void => message(channel, text)
    const connecting: Promise<Any> = (async () => {
      const known = cluster.masters.find((m: Any) => m.client !== undefined) ?? cluster.masters[0]
      if (known === undefined) throw new FST_SSE_STORE_UNAVAILABLE('subscribe', 'the cluster client knows no node yet')
      const base = await cluster.nodeClient(known)
      const options = base.options ?? {}
      // The cluster's own settings for its nodes, but a connection that stays down once lost.
      const sub = base.duplicate({ ...options, socket: { ...options.socket, host, port, reconnectStrategy: false } })
      sub.on('error', (err: Error) => { if (!gone) { gone = true; down(err) } })
      sub.on('end', () => { if (!gone) { gone = true; down(undefined) } })
      sub.on('sharded-channel-moved', (channel: string) => dropped([channel]))
      await sub.connect()
      return sub
    })()
    connecting.catch(() => {})
    return {
      subscribe: async (channel) => { await (await connecting).SSUBSCRIBE(channel, listener) },
      unsubscribe: async (channel) => { await (await connecting).SUNSUBSCRIBE(channel, listener) },
      onMessage: (h) => { message = h },
      onDropped: (h) => { dropped = h },
      onDown: (h) => { down = h },
      close: async () => {
        gone = true
        let sub: Any
        try { sub = await connecting } catch { return }
        sub.removeAllListeners('sharded-channel-moved')
        try { sub.destroy() } catch {}
      }
    }
  }
}
