// The only door from the tests into internal modules of the build: when a module moves or a
// class is renamed, only this file changes.
export { Connection } from '../../dist/esm/connection.js'
export { Registry, kPlan } from '../../dist/esm/registry.js'
export { pump, cancel } from '../../dist/esm/pump.js'
export { Subscriber } from '../../dist/esm/replay/subscriber.js'
export { Hub, Feed } from '../../dist/esm/replay/hub.js'
export { Counters } from '../../dist/esm/replay/metrics.js'
export { Topics } from '../../dist/esm/replay/topics.js'
export { encodeItem } from '../../dist/esm/encode.js'
export { compileEvents } from '../../dist/esm/typed/event-pipeline.js'
export { memoryStore } from '../../dist/esm/stores/memory.js'
