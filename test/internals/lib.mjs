// The only door from test/internals (and the few other tests that drive internals) into the
// built modules: when a module moves or a class is renamed, only this file changes.
export { Connection } from '../../dist/esm/connection.js'
export { Registry, kPlan } from '../../dist/esm/registry.js'
export { pump, cancel } from '../../dist/esm/pump.js'
export { Subscriber } from '../../dist/esm/subscriber.js'
export { Hub, Feed } from '../../dist/esm/hub.js'
export { Counters } from '../../dist/esm/metrics.js'
export { Channels } from '../../dist/esm/channels.js'
export { encodeItem } from '../../dist/esm/encode.js'
export { compileEvents } from '../../dist/esm/events.js'
export { memoryStore } from '../../dist/esm/stores/memory.js'
