import { plugin } from './plugin.js'

export default plugin
export { plugin as fastifyTypedSse }
export type { SseReply, SseServer } from './plugin.js'
export { encodeEvent, type SseItem, type DataSerializer } from './encode.js'
export type { SsePluginOptions } from './options.js'
export type { SseResult, SseSource, SseStream, SourceContext } from './stream.js'
export type { EndReason } from './connection.js'
export * as errors from './errors.js'
