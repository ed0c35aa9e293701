// One event stream per browser instead of one per tab: every tab of an origin that opens the
// same URL with `share` joins one group; one tab of the group (the leader) holds the real
// EventSource and passes each event to the others over a BroadcastChannel. Browser code that
// imports nothing, so the client stays two plain files a page loads without a build step.
//
// Why Web Locks + BroadcastChannel (and not a SharedWorker): the browser itself releases a
// tab's lock when the tab closes, crashes or navigates away, so the next tab in the lock's
// queue is granted it at once, with no timeout to guess; both APIs exist in every current
// browser, need no second script file, and keep the EventSource in a page, where it already
// works today. Hand-over resumes through the stream's own Last-Event-ID (the new leader's last
// position, in the query), and every tab drops an event it has already seen (by its id, or by
// where the id says it stands), so no tab loses or repeats an event across the seam.

/** The parts of `EventSource` this module drives; the same shape as the client's `EventSourceLike`. */
interface Source {
  readonly readyState: number
  addEventListener: (type: string, listener: (event: any) => void) => void
  removeEventListener: (type: string, listener: (event: any) => void) => void
  close: () => void
}

/** The parts of `navigator.locks` and `BroadcastChannel` used here: the package compiles without the DOM's types. */
interface LockManagerLike {
  request: (name: string, options: { signal?: AbortSignal, steal?: boolean }, callback: () => unknown) => Promise<unknown>
}
interface ChannelLike {
  onmessage: ((event: { data: unknown }) => void) | null
  postMessage: (message: unknown) => void
  close: () => void
}
type ChannelConstructor = new (name: string) => ChannelLike
interface EventTargetLike {
  addEventListener: (type: string, listener: (event: any) => void) => void
  removeEventListener: (type: string, listener: (event: any) => void) => void
}

/** What a tab is in its group: holding the connection, fed by the holder, or on its own connection. */
export type ShareRole = 'leader' | 'follower' | 'off'

export interface ShareOptions {
  /**
   * How often the leader says it is alive, in ms (default 1000). A follower that hears nothing
   * from the leader for twice this asks it; with no answer within this period more, it takes the
   * connection over (a leader whose page is frozen or hung keeps its lock).
   */
  heartbeatMs?: number
  /** The query parameter the server reads as the last event id (the plugin's `lastEventIdQuery`). Default `lastEventId`. */
  lastEventIdQuery?: string
  /**
   * Query parameters that only place this tab's own first request (a topic's `from`, such as a
   * snapshot's position): left out of the group's key, so tabs that differ only in them share
   * one connection. A tab that joins a running group starts where the group is.
   */
  positionParams?: readonly string[]
}

/** For a many-topic stream (`createTopicsClient`): the topics this tab asks for, and the query parameter that names them. */
export interface ShareTopics {
  topics?: readonly string[]
  topicsParam?: string
}

export interface SharedSource extends Source {
  readonly role: ShareRole
  /** Asks for another set of topics: the group's connection carries every topic some tab asks for. */
  setTopics: (topics: readonly string[]) => void
}

/** One event as the leader passes it on. `own`: the event carried its own `id:` (so it can be recognized again). */
interface Relay {
  type: string
  data: string
  lastEventId: string
  own: boolean
  /** On many topics: the topics of the connection, in the order its cursor lists them. */
  topics?: readonly string[]
}

/** The messages of a group; `from` is the sending member. */
type Note =
  | { k: 'hello', from: string, at: string }
  | { k: 'wants', from: string, types: string[], topics: string[] }
  | { k: 'bye', from: string }
  | { k: 'lead', from: string }
  | { k: 'beat', from: string, state: number, position: string }
  | { k: 'ping', from: string }
  | { k: 'event', from: string, event: Relay }
  | { k: 'state', from: string, state: number }
  | { k: 'welcome', from: string, to: string, state: number, position: string, events: Relay[] | null }

const CONNECTING = 0
const OPEN = 1
const CLOSED = 2
// Versioned: a tab running another version of the protocol never joins this group.
const PREFIX = 'fastify-typed-sse/share/1 '
// Ids remembered to drop repeats across a hand-over, and events kept to bring a joining tab up
// to the position it starts from: the seam and a page's start are both a few events wide.
const SEEN = 1024
const RING = 256

/** Whether this page has what sharing needs (Web Locks only exist in a secure context). */
export function canShare (): boolean {
  const scope = globalThis as { navigator?: { locks?: Partial<LockManagerLike> }, BroadcastChannel?: unknown }
  return typeof scope.navigator?.locks?.request === 'function' && typeof scope.BroadcastChannel === 'function'
}

// Below, the code that runs only where Web Locks exist: Chromium (test/browser-shared-tabs.test.mjs,
// test/docs-topics-share.test.mjs) and Node 24 and later (test/client-share.test.mjs). npm test
// takes coverage on Node 20, which has no Web Locks, so it is left out of that count.
/* c8 ignore start */
// The plugin's ids: `<epoch>:<offset>` on one stream; on many topics, entries of
// `<tag><epoch>.<offset>` (offset in base 36) joined by commas.
const SINGLE_ID = /^([0-9A-Za-z_-]+):(0|[1-9][0-9]{0,15})$/
const TOPIC_ENTRY = /^([0-9A-Za-z_-]+)\.(0|[1-9a-z][0-9a-z]{0,10})$/

/**
 * How far an id has come in each thing it counts (one stream's epoch; each topic's tag and
 * epoch), or undefined for an id of another kind. Two connections carrying the same events may
 * interleave topics differently, so a many-topic event is recognized by where it stands, not by
 * its id's text.
 */
function countsOf (id: string): Map<string, number> | undefined {
  const single = SINGLE_ID.exec(id)
  if (single !== null) return new Map([[single[1] as string, Number(single[2])]])
  const counts = new Map<string, number>()
  for (const entry of id.split(',')) {
    const match = TOPIC_ENTRY.exec(entry)
    if (match === null) return undefined
    counts.set(match[1] as string, parseInt(match[2] as string, 36))
  }
  return counts
}

/** Whether an event at `counts` brings what `known` has not reached: a further offset, a new epoch or a new topic. */
function bringsNew (counts: Map<string, number>, known: Map<string, number>): boolean {
  for (const [what, offset] of counts) {
    const reached = known.get(what)
    if (reached === undefined || offset > reached) return true
  }
  return false
}

/**
 * An EventSource-shaped object for `url` shared with every other tab of the origin that opens the
 * same URL (the `lastEventIdQuery` parameter aside) with the same credentials mode. `open`
 * creates the real EventSource when this tab leads. Call only where `canShare()` is true.
 */
export function sharedEventSource (
  url: string | URL,
  open: (url: string) => Source,
  { withCredentials = false, heartbeatMs = 1000, lastEventIdQuery = 'lastEventId', positionParams = [], topics: asked, topicsParam = 'topics' }: ShareOptions & ShareTopics & { withCredentials?: boolean } = {}
): SharedSource {
  const scope = globalThis as unknown as {
    navigator: { locks: LockManagerLike }
    BroadcastChannel: ChannelConstructor
    location?: { href: string }
    crypto?: { randomUUID?: () => string }
    document?: EventTargetLike
    addEventListener?: EventTargetLike['addEventListener']
    removeEventListener?: EventTargetLike['removeEventListener']
  }
  const locks = scope.navigator.locks
  const target = new URL(String(url), scope.location?.href)
  // Where this tab asked to start: the group's connection must bring it there, or it goes alone.
  const start = target.searchParams.get(lastEventIdQuery) ?? ''
  target.searchParams.delete(lastEventIdQuery)
  // Tabs asking for different topics of one many-topic route share its connection.
  if (asked !== undefined) target.searchParams.delete(topicsParam)
  const placed = new URL(target.href)
  for (const param of positionParams) target.searchParams.delete(param)
  const name = PREFIX + (withCredentials ? 'credentials ' : '') + target.href
  const self = scope.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random()}`

  const listeners = new Map<string, Set<(event: unknown) => void>>()
  const wants = new Map<string, Set<string>>([[self, new Set()]])
  // Each member's topics, and those the leader's connection carries.
  const topicSets = new Map<string, readonly string[]>([[self, [...asked ?? []]]])
  let carried: readonly string[] = []
  const seen = new Set<string>()
  // Where this tab stands, when the ids are the plugin's: an event that brings nothing new is a repeat.
  let counts = countsOf(start)
  const ring: Relay[] = []
  let position = start
  let role: ShareRole = 'follower'
  let readyState = CONNECTING
  let closed = false
  let suspended = false
  // The real EventSource: the leader's, or this tab's own once it has left the group.
  let source: Source | null = null
  let sourceId = ''
  const listened = new Set<string>()
  // Ends this tab's hold on the lock, and which grant is being held.
  let release: (() => void) | null = null
  let held: object | null = null
  let queued: AbortController | null = null
  // A tab that starts from a position holds relays until the leader has brought it there.
  let pending: Relay[] | null = start === '' ? null : []
  let joinedAt = Date.now()
  let heard = Date.now()
  let pingedAt = 0
  // The leader's joiners whose start it has not reached yet.
  let waiting: Array<{ to: string, at: string, until: number }> = []

  let channel: ChannelLike | null = new scope.BroadcastChannel(name)
  const post = (note: Note): void => { channel?.postMessage(note) }

  const dispatch = (type: string, event: unknown): void => {
    for (const listener of [...listeners.get(type) ?? []]) {
      // As EventSource does: one failing listener neither stops the others nor the stream.
      try {
        listener(event)
      } catch (error) {
        setTimeout(() => { throw error }, 0)
      }
    }
  }
  const setState = (state: number): void => {
    if (state === readyState) return
    readyState = state
    dispatch(state === OPEN ? 'open' : 'error', { type: state === OPEN ? 'open' : 'error' })
  }

  /** Whether an event is for this tab: the connection may carry topics other tabs asked for (`<topic>.<event>`). */
  const mine = (type: string): boolean => {
    const dot = type.indexOf('.')
    return asked === undefined || dot === -1 || (topicSets.get(self) as readonly string[]).includes(type.slice(0, dot))
  }
  /** Every event reaches a tab's listeners through here, once: a repeated id is dropped. */
  const accept = (relay: Relay): void => {
    if (relay.own) {
      const now = countsOf(relay.lastEventId)
      if (seen.has(relay.lastEventId) || (now !== undefined && counts !== undefined && !bringsNew(now, counts))) return
      seen.add(relay.lastEventId)
      if (seen.size > SEEN) seen.delete(seen.values().next().value as string)
      // What the id counts now (a topic no longer carried is forgotten), never going back.
      if (now !== undefined && counts !== undefined) for (const [what, offset] of now) now.set(what, Math.max(offset, counts.get(what) ?? offset))
      counts = now
    }
    position = relay.lastEventId
    ring.push(relay)
    if (ring.length > RING) ring.shift()
    if (mine(relay.type)) dispatch(relay.type, { type: relay.type, data: relay.data, lastEventId: relay.lastEventId, topics: relay.topics })
    if (role === 'leader' && relay.own && waiting.length > 0) {
      for (const joiner of waiting.filter((w) => w.at === relay.lastEventId)) welcome(joiner.to, [])
      waiting = waiting.filter((w) => w.at !== relay.lastEventId)
    }
  }

  // The real EventSource's events, on the leader or on a tab alone.
  const onSourceEvent = (event: { type: string, data?: unknown, lastEventId?: string }): void => {
    if (typeof event.data !== 'string') return onSourceState()
    const lastEventId = event.lastEventId ?? ''
    const relay: Relay = { type: event.type, data: event.data, lastEventId, own: lastEventId !== '' && lastEventId !== sourceId }
    if (asked !== undefined) relay.topics = carried
    sourceId = lastEventId
    if (role === 'leader') post({ k: 'event', from: self, event: relay })
    accept(relay)
  }
  const onSourceState = (): void => {
    if (source === null) return
    setState(source.readyState)
    if (role === 'leader') post({ k: 'state', from: self, state: readyState })
  }
  const listen = (): void => {
    if (source === null) return
    const types = role === 'off' ? wants.get(self) ?? [] : [...wants.values()].flatMap((set) => [...set])
    for (const type of types) {
      if (listened.has(type)) continue
      listened.add(type)
      source.addEventListener(type, onSourceEvent)
    }
  }
  const connect = (href: string): void => {
    listened.clear()
    sourceId = position
    source = open(href)
    source.addEventListener('open', onSourceState)
    source.addEventListener('error', onSourceEvent)
    listened.add('error')
    listen()
  }
  const disconnect = (): void => {
    source?.close()
    source = null
  }
  /** Every topic some member asks for, in a stable order: the same set is the same connection. */
  const union = (): string[] => [...new Set([...topicSets.values()].flat())].sort()
  const resumeUrl = (): string => {
    // This tab's own placing parameters: the server reads them only for what the cursor does not name.
    const resume = new URL(placed.href)
    if (asked !== undefined) {
      carried = role === 'off' ? topicSets.get(self) ?? [] : union()
      resume.searchParams.set(topicsParam, carried.join(','))
    }
    if (position !== '') resume.searchParams.set(lastEventIdQuery, position)
    return resume.href
  }
  /** A member asks for a topic the connection does not carry: reconnect with it, every position kept (the cursor). */
  const follow = (): void => {
    if (source === null || asked === undefined) return
    const wanted = role === 'off' ? topicSets.get(self) ?? [] : union()
    if (wanted.every((topic) => carried.includes(topic))) return
    disconnect()
    connect(resumeUrl())
  }

  const lead = (): void => {
    role = 'leader'
    // Relays held for a start this tab was not brought to: its connection starts there itself.
    pending = null
    post({ k: 'lead', from: self })
    setState(CONNECTING)
    connect(resumeUrl())
  }
  const stepDown = (): void => {
    if (role !== 'leader') return
    role = 'follower'
    disconnect()
    release?.()
    release = null
    held = null
    heard = Date.now()
    pingedAt = 0
  }
  const requestLock = (steal = false): void => {
    if (closed || suspended || role !== 'follower') return
    queued?.abort()
    const controller = new AbortController()
    queued = steal ? null : controller
    const grant = {}
    locks.request(name, steal ? { steal: true } : { signal: controller.signal }, () => {
      if (queued === controller) queued = null
      if (closed || suspended || role !== 'follower') return undefined // let go at once
      held = grant
      return new Promise<void>((resolve) => {
        release = resolve
        lead()
      })
    }).then(undefined, () => {
      // Rejected: a queued request this tab withdrew, or a held lock another tab stole.
      if (held !== grant) return
      stepDown()
      rejoin()
      requestLock()
    })
  }

  /**
   * Asks the leader for the events after this tab's position, holding relays until they come: a
   * tab that was stopped (frozen, hung, stolen from) may have missed some of the group's messages.
   */
  const rejoin = (): void => {
    if (role !== 'follower' || position === '') return
    pending = []
    joinedAt = Date.now()
    post({ k: 'hello', from: self, at: position })
  }

  const welcome = (to: string, events: Relay[] | null): void => {
    post({ k: 'welcome', from: self, to, state: readyState, position, events })
  }
  const onHello = (at: string, from: string): void => {
    if (at === '' || at === position) return welcome(from, [])
    const index = ring.findIndex((relay) => relay.own && relay.lastEventId === at)
    if (index !== -1) return welcome(from, ring.slice(index + 1))
    // Not reached yet (the joiner read a newer position than this tab has received), or long gone.
    waiting.push({ to: from, at, until: Date.now() + 2 * heartbeatMs })
  }

  const onNote = (note: Note): void => {
    if (closed || role === 'off' || typeof note !== 'object' || note === null) return
    switch (note.k) {
      case 'hello':
        announce()
        if (role === 'leader') onHello(note.at, note.from)
        return
      case 'wants':
        wants.set(note.from, new Set(note.types))
        topicSets.set(note.from, note.topics)
        if (role === 'leader') {
          listen()
          follow()
        }
        return
      case 'bye':
        wants.delete(note.from)
        topicSets.delete(note.from)
        return
      case 'ping':
        if (role === 'leader') post({ k: 'beat', from: self, state: readyState, position })
        return
    }
    // Everything else comes from a leader: it is alive.
    heard = Date.now()
    pingedAt = 0
    switch (note.k) {
      case 'beat':
        if (position === '' && pending === null) position = note.position
        if (role === 'follower') setState(note.state)
        return
      case 'state':
        if (role === 'follower') setState(note.state)
        return
      case 'event':
        if (pending !== null) pending.push(note.event)
        else accept(note.event)
        return
      case 'welcome':
        if (note.to !== self) return
        if (pending !== null) {
          if (note.events === null) return goAlone()
          // Every relay held was sent before the welcome: at or before the start, or among its events.
          pending = null
          for (const relay of note.events) accept(relay)
        } else if (position === '') {
          position = note.position
        }
        if (role === 'follower') setState(note.state)
    }
  }

  /** Leaves the group for a connection of its own, from this tab's position: the group cannot bring it there. */
  const goAlone = (): void => {
    queued?.abort()
    queued = null
    post({ k: 'bye', from: self })
    if (channel !== null) channel.onmessage = null
    channel?.close()
    channel = null
    role = 'off'
    pending = null
    setState(CONNECTING)
    connect(resumeUrl())
  }

  const tick = (): void => {
    const now = Date.now()
    if (role === 'leader') {
      post({ k: 'beat', from: self, state: readyState, position })
      for (const joiner of waiting) if (joiner.until < now) welcome(joiner.to, null)
      waiting = waiting.filter((joiner) => joiner.until >= now)
      return
    }
    if (role !== 'follower' || suspended) return
    // No leader brought this tab to its start: the group cannot, so it connects alone.
    if (pending !== null && now - joinedAt > 4 * heartbeatMs) return goAlone()
    if (pingedAt === 0 && now - heard > 2 * heartbeatMs) {
      pingedAt = now
      post({ k: 'ping', from: self })
    } else if (pingedAt !== 0 && now - pingedAt > heartbeatMs) {
      // The leader holds its lock but does not answer (frozen, hung): take the connection over.
      pingedAt = 0
      heard = now
      requestLock(true)
    }
  }
  const timer = setInterval(tick, heartbeatMs / 2)

  // A page the browser freezes (or keeps in the back/forward cache) hands its part over first,
  // and waits to be resumed before asking for the lock again.
  const onFreeze = (event: { type: string, persisted?: boolean }): void => {
    if (closed || role === 'off' || (event.type === 'pagehide' && event.persisted !== true)) return
    suspended = true
    stepDown()
    queued?.abort()
    queued = null
  }
  const onResume = (event: { type: string, persisted?: boolean }): void => {
    if (closed || role === 'off' || !suspended || (event.type === 'pageshow' && event.persisted !== true)) return
    suspended = false
    heard = Date.now()
    rejoin()
    requestLock()
  }
  scope.document?.addEventListener('freeze', onFreeze)
  scope.document?.addEventListener('resume', onResume)
  scope.addEventListener?.('pagehide', onFreeze)
  scope.addEventListener?.('pageshow', onResume)

  channel.onmessage = (event) => onNote(event.data as Note)
  post({ k: 'hello', from: self, at: start })
  requestLock()

  const announce = (): void => {
    post({ k: 'wants', from: self, types: [...wants.get(self) ?? []], topics: [...topicSets.get(self) ?? []] })
  }
  const want = (type: string): void => {
    const mine = wants.get(self) as Set<string>
    if (type === 'open' || type === 'error' || mine.has(type)) return
    mine.add(type)
    if (role !== 'off') announce()
    if (role !== 'follower') listen()
  }

  return {
    get readyState () { return readyState },
    get role () { return role },
    addEventListener (type, listener) {
      let set = listeners.get(type)
      if (set === undefined) listeners.set(type, set = new Set())
      set.add(listener)
      want(type)
    },
    removeEventListener (type, listener) {
      listeners.get(type)?.delete(listener)
    },
    setTopics (topics) {
      if (closed) return
      topicSets.set(self, [...topics])
      if (role !== 'off') announce()
      if (role !== 'follower') follow()
    },
    close () {
      if (closed) return
      stepDown()
      disconnect()
      closed = true
      clearInterval(timer)
      queued?.abort()
      post({ k: 'bye', from: self })
      channel?.close()
      channel = null
      scope.document?.removeEventListener('freeze', onFreeze)
      scope.document?.removeEventListener('resume', onResume)
      scope.removeEventListener?.('pagehide', onFreeze)
      scope.removeEventListener?.('pageshow', onResume)
      readyState = CLOSED
    }
  }
}
/* c8 ignore stop */
