import { plugin } from './plugin.js'

export default plugin
export { plugin as fastifyTypedSse }
export type { SsePluginOptions, SseReply, SseServer } from './sse-api.js'
export { encodeEvent, type EncodeOptions, type SseItem, type DataSerializer } from './encode.js'
export type { SseResult, SseSource, SseStream, SourceContext } from './stream.js'
export type { EndReason } from './connection.js'
export * as errors from './errors.js'
export type { EventMap, EventSchema, StaticOf, WireOf, TypeBox1NeedsTypeProvider, EventItem, EventData, DeclaredEvent, DefaultEvent, ControlItem, ItemFields } from './typed/event-types.js'
export type { EventOptions, InvalidItemPolicy } from './typed/event-pipeline.js'
export type { SseRouteOptions } from './typed/route-options.js'
export type { SseRouteReply, TypedSseReply, TypedSseHandler, EventsOf, EventsNotInferred, EventGenerator } from './typed-route.js'
export { redisStore, type RedisReplayStore, type RedisStoreOptions } from './stores/redis.js'
export { memoryStore, type MemoryStoreOptions, type MemoryReplayStore } from './stores/memory.js'
export type {
  ReplayStore, StoredEvent, AppendInput, AppendOptions, ReadOptions, ReadResult, GapReason, LiveItem,
  LiveSubscription, StoreCapabilities, StreamKey, Retention
} from './stores/types.js'
export { parseEventId, formatEventId, type EventPosition } from './event-id.js'
export type { SseFanout, SubscribeFunction, SubscribeTopicsFunction } from './replay/fanout.js'
export type { TopicMap, TopicEntry, TopicOptions, SubscribeTopicsOptions } from './replay/topic-set.js'
export { parseCursor, MAX_TOPICS, MAX_CURSOR_BYTES, type CursorEntry } from './replay/cursor.js'
export type {
  SseChannel, SseChannelOptions, ReplayOptions, PublishItem, PublishOptions, SubscribeOptions, FilterEvent, ResetContext
} from './replay/topics.js'
export type { SseMetrics, ResetReason } from './replay/metrics.js'
