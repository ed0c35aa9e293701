import type { StreamMetrics } from '../registry.js'
import type { GapReason } from '../stores/types.js'

/** Why a subscriber was told to resync: a cursor that could not be served, or a break in live delivery. */
export type ResetReason = GapReason | 'lost'

/**
 * Counters of the replay and fan-out side of one plugin instance. Plain numbers, only ever
 * incremented (except the gauges), so a metrics library can read them on its own schedule.
 */
export interface SseMetrics extends StreamMetrics {
  /** Event streams open right now (every kind). Gauge. */
  openStreams: number
  /** Connections subscribed to a replay stream and live right now (a client still being positioned or replayed to is not counted). Gauge. */
  subscribers: number
  /** Stream keys with at least one local subscriber, each holding one store subscription. Gauge. */
  channels: number
  /** Events stored through publish(). */
  published: number
  /** publish() calls refused (invalid item) or failed (store error). */
  publishFailures: number
  /** Connections that presented a cursor and were resumed from the store. */
  replays: number
  /** Events written by those resumes. */
  replayedEvents: number
  /** Reset notices sent, by reason. */
  resets: Record<ResetReason, number>
  /** Subscribers disconnected for not reading (more than maxBufferedBytes waiting, stalled, or furthest behind when maxTotalBufferedBytes was reached). */
  evictions: number
  /** Bytes waiting for clients that are not keeping up, at most (see maxTotalBufferedBytes). Gauge. */
  bufferedBytes: number
  /** Store calls that failed while serving a subscriber (the subscriber was disconnected and reconnects). */
  storeErrors: number
}

export class Counters {
  published = 0
  publishFailures = 0
  replays = 0
  replayedEvents = 0
  resets: Record<ResetReason, number> = { malformed: 0, epoch: 0, trimmed: 0, ahead: 0, limit: 0, lost: 0 }
  evictions = 0
  storeErrors = 0
}
