/**
 * One small face over the two Node Redis clients (ioredis 6 and node-redis 6), told apart by
 * duck typing so neither package is a dependency. The store sends raw commands through it and
 * opens its own Pub/Sub connection from the application's client.
 */
import { FST_SSE_INVALID_STORE_OPTION, FST_SSE_STORE_TIMEOUT, FST_SSE_STORE_UNAVAILABLE } from '../errors.js'

export type ClientKind = 'ioredis' | 'node-redis'

export interface CommandConnection {
  readonly kind: ClientKind
  /**
   * The client's own key prefix (ioredis and node-redis `keyPrefix`), '' without one. Neither
   * client applies it to Pub/Sub channels, so the store adds it to its channels itself: two
   * applications told apart by `keyPrefix` then never read each other's events.
   */
  readonly keyPrefix: string
  /** Whether the client adds `keyPrefix` to the keys of the raw commands the store sends (ioredis) or not (node-redis `sendCommand`). */
  readonly addsKeyPrefix: boolean
  /** Sends one command once the connection is ready, failing after `timeoutMs` whatever happens. */
  send: (args: string[], timeoutMs: number, what: string) => Promise<unknown>
  /** Whether the application's connection is ready now. */
  isReady: () => boolean
  /** Calls `listener` whenever the application's connection becomes ready (again). */
  onReady: (listener: () => void) => () => void
  /** Opens a separate connection for Pub/Sub with the same settings. */
  openSubscriber: (onError: (err: Error) => void) => SubscriberConnection
}

export interface SubscriberConnection {
  /** Resolves once the server confirmed the subscription. */
  subscribe: (channel: string) => Promise<void>
  unsubscribe: (channel: string) => Promise<void>
  /** Resolves once the connection is ready and every subscription is confirmed again after a reconnect. */
  ready: () => Promise<void>
  onMessage: (handler: (channel: string, message: string) => void) => void
  /**
   * Called after every reconnect, once subscriptions are in place again (messages sent meanwhile
   * are lost): with the channels concerned when not all of them were.
   */
  onReconnect: (handler: (channels?: string[]) => void) => void
  close: () => Promise<void>
}

type Any = any

function isIoredis (client: Any): boolean {
  return client !== null && typeof client === 'object' && typeof client.call === 'function' &&
    typeof client.duplicate === 'function' && typeof client.status === 'string'
}

function isNodeRedis (client: Any): boolean {
  return client !== null && typeof client === 'object' && typeof client.sendCommand === 'function' &&
    typeof client.duplicate === 'function' && 'isReady' in client
}

export function wrapClient (client: unknown): CommandConnection {
  if (isIoredis(client)) return new Ioredis(client)
  if (isNodeRedis(client)) return new NodeRedis(client)
  throw new FST_SSE_INVALID_STORE_OPTION('redisStore', 'client must be an ioredis client or Cluster, or a connected node-redis client or cluster (`redis` package)')
}

function keyPrefixOf (client: Any): string {
  const prefix: unknown = client.options?.keyPrefix
  if (typeof prefix === 'string') return prefix
  return Buffer.isBuffer(prefix) ? prefix.toString('utf8') : ''
}

/**
 * A refusal by the ACL: Redis's NOPERM reply to a command, the one our scripts return before
 * writing anything, or Redis's wording for a command refused inside a script (which carries
 * no NOPERM code).
 */
export function isPermissionError (err: unknown): boolean {
  if (!isReplyError(err)) return false
  const message = String((err as Error).message)
  return message.startsWith('NOPERM') || message.includes('The user executing the script can\'t')
}

/** Errors Redis itself answered with; anything else is about the connection. */
export function isReplyError (err: unknown): boolean {
  const name = (err as Error | undefined)?.constructor?.name ?? ''
  return name === 'ReplyError' || name === 'SimpleError' || name === 'BlobError' || name === 'ErrorReply'
}

export function withTimeout<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    // Timers run before I/O in a loop turn: after a stall of the event loop, a reply already
    // received would lose to its own timeout. One turn of I/O first lets it win.
    timer = setTimeout(() => setImmediate(() => reject(new FST_SSE_STORE_TIMEOUT(what, ms))), Math.max(0, ms))
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/**
 * The next `ready` of one client, behind one listener however many commands wait for it: an
 * outage with many commands waiting must not pile listeners onto the application's client.
 */
class ReadyGate {
  private next: Promise<void> | undefined
  constructor (private readonly emitter: Any) {}

  wait (): Promise<void> {
    this.next ??= new Promise((resolve) => {
      this.emitter.once('ready', () => {
        this.next = undefined
        resolve()
      })
    })
    return this.next
  }
}

/**
 * Waits for `ready` instead of leaning on the client's offline queue: a command parked there
 * would run whenever the connection returns, long after its caller gave up.
 */
function whenReady (gate: ReadyGate, isReady: () => boolean, isDead: () => boolean, ms: number, what: string): Promise<void> {
  if (isReady()) return Promise.resolve()
  if (isDead()) return Promise.reject(new FST_SSE_STORE_UNAVAILABLE(what, 'the Redis client is closed or was never connected'))
  return withTimeout(gate.wait(), ms, what + ' (Redis not connected)')
}

function onEvent (emitter: Any, name: string, listener: () => void): () => void {
  emitter.on(name, listener)
  return () => emitter.off(name, listener)
}

class Ioredis implements CommandConnection {
  readonly kind = 'ioredis' as const
  readonly keyPrefix: string
  readonly addsKeyPrefix = true
  private readonly gate: ReadyGate
  constructor (private readonly client: Any) {
    this.gate = new ReadyGate(client)
    this.keyPrefix = keyPrefixOf(client)
  }

  async send (args: string[], timeoutMs: number, what: string): Promise<unknown> {
    const started = Date.now()
    const client = this.client
    // 'wait' is a lazyConnect client that has not connected yet: the command itself connects it.
    await whenReady(this.gate, () => client.status === 'ready' || client.status === 'wait',
      () => client.status === 'end', timeoutMs, what)
    return withTimeout(client.call(...args), timeoutMs - (Date.now() - started), what)
  }

  isReady (): boolean {
    return this.client.status === 'ready'
  }

  onReady (listener: () => void): () => void {
    return onEvent(this.client, 'ready', listener)
  }

  openSubscriber (onError: (err: Error) => void): SubscriberConnection {
    const sub = this.client.duplicate()
    const subGate = new ReadyGate(sub)
    sub.on('error', onError)
    let handler: (channel: string, message: string) => void = () => {}
    let reconnect: () => void = () => {}
    let first = true
    sub.on('message', (channel: string, message: string) => handler(channel, message))
    sub.on('ready', () => {
      if (first) { first = false; return }
      // ioredis resubscribes by itself but does not say when that is done; subscribing again
      // (harmless for the server) gives a reply to wait for before catching up.
      const channels: string[] = sub.condition?.subscriber?.channels?.('subscribe') ?? []
      const again = channels.length > 0 ? sub.subscribe(...channels) : Promise.resolve()
      again.then(() => reconnect(), onError)
    })
    return {
      subscribe: async (channel) => { await sub.subscribe(channel) },
      unsubscribe: async (channel) => { await sub.unsubscribe(channel) },
      ready: () => whenReady(subGate, () => sub.status === 'ready', () => sub.status === 'end', 2 ** 31 - 1, 'subscribe'),
      onMessage: (h) => { handler = h },
      onReconnect: (h) => { reconnect = h },
      close: async () => {
        sub.removeAllListeners('ready')
        sub.removeAllListeners('message')
        try {
          await withTimeout(sub.quit(), 1000, 'quit')
        } catch {
          sub.disconnect()
        }
      }
    }
  }
}

class NodeRedis implements CommandConnection {
  readonly kind = 'node-redis' as const
  readonly keyPrefix: string
  readonly addsKeyPrefix = false
  private readonly gate: ReadyGate
  constructor (private readonly client: Any) {
    this.gate = new ReadyGate(client)
    this.keyPrefix = keyPrefixOf(client)
  }

  async send (args: string[], timeoutMs: number, what: string): Promise<unknown> {
    const started = Date.now()
    const client = this.client
    await whenReady(this.gate, () => client.isReady === true, () => client.isOpen !== true, timeoutMs, what)
    return withTimeout(client.sendCommand(args), timeoutMs - (Date.now() - started), what)
  }

  isReady (): boolean {
    return this.client.isReady === true
  }

  onReady (listener: () => void): () => void {
    return onEvent(this.client, 'ready', listener)
  }

  openSubscriber (onError: (err: Error) => void): SubscriberConnection {
    const sub = this.client.duplicate()
    const subGate = new ReadyGate(sub)
    sub.on('error', onError)
    let handler: (channel: string, message: string) => void = () => {}
    let reconnect: () => void = () => {}
    let first = true
    // One listener for every channel: node-redis keeps listeners in a set, so a repeat is a no-op.
    const listener = (message: string, channel: string): void => handler(channel, message)
    // node-redis emits `ready` only after its own resubscribe was confirmed.
    sub.on('ready', () => {
      if (first) { first = false; return }
      reconnect()
    })
    const connecting: Promise<void> = sub.connect().then(() => {}, (err: Error) => { onError(err) })
    return {
      subscribe: async (channel) => { await sub.subscribe(channel, listener) },
      unsubscribe: async (channel) => { await sub.unsubscribe(channel, listener) },
      ready: async () => {
        await connecting
        await whenReady(subGate, () => sub.isReady === true, () => sub.isOpen !== true, 2 ** 31 - 1, 'subscribe')
      },
      onMessage: (h) => { handler = h },
      onReconnect: (h) => { reconnect = h },
      close: async () => {
        sub.removeAllListeners('ready')
        try {
          await withTimeout(typeof sub.close === 'function' ? sub.close() : sub.quit(), 1000, 'quit')
        } catch {
          try { sub.destroy() } catch {}
        }
      }
    }
  }
}
