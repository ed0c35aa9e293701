import { logSafely } from '../safe-log.js'
import type { FastifyBaseLogger } from 'fastify'
import { encodeFrame, encodeItem, encodeJsonFrame, jsonSerializer, type DataSerializer, type ItemEncoder, type SseItem } from '../encode.js'
import { FST_SSE_INVALID_EVENT, FST_SSE_INVALID_PAYLOAD, FST_SSE_UNKNOWN_EVENT } from '../errors.js'
import type { OptionError } from '../option-checks.js'
import type { EventMap } from './event-types.js'
import { compileSerializer, stringifySerializer, type CompiledSerializer } from './serialize.js'
import { jsonSchemaOf } from './json-schema-of.js'
import { isStandardSchema, schemaKind } from './schema-kind.js'
import { compileCheck, type PayloadCheck } from './validate.js'

export type { EventMap } from './event-types.js'

/** What happens to an item whose event is not in the map or whose data fails its schema. */
export type InvalidItemPolicy =
  | 'error' // the stream ends with the error: logged, then the terminal error event
  | 'skip' // the item is logged and dropped; the stream goes on

/** Per-route (or per-topic) item pipeline settings. */
export interface EventOptions {
  /** Check each payload against its event's schema. Default true. */
  validate?: boolean
  /** Serialize payloads with code compiled from their schema. Default true. */
  serialize?: boolean
  /** What an invalid item does to the stream. Default `'error'`. Pushed items (`send()`, publish) throw either way under `'error'`. */
  onInvalid?: InvalidItemPolicy
}

/** {@link EventOptions}, plus what the plugin supplies. */
export interface PipelineOptions extends EventOptions {
  /** Where skipped items are reported. */
  log?: FastifyBaseLogger
}

/** Where an event map is declared, for the errors that must name it: start-up errors are read far from the declaration. */
export interface Declaration {
  /** `route GET /jobs` or `stream jobs`. */
  where: string
  /** The coded error of the options object the map came in. */
  invalid: OptionError
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
  /** The same encoder reporting skipped items to `log` (only under `onInvalid: 'skip'`, where there is something to report). */
  encodeWith?: (log: FastifyBaseLogger) => ItemEncoder
  /** The JSON Schema of each event's data, for documentation (typed pipelines only). */
  schemas?: Record<string, object>
}

/** One declared event, compiled. */
interface CompiledEvent {
  check: PayloadCheck | null
  serialize: (data: unknown) => string
  /** True when `serialize` always produces JSON text (one line, no lone surrogate), so framing need not scan it. */
  json: boolean
}

const MESSAGE = 'message'

/** The pipeline of a route or topic. Compiled once, at start-up. */
export function compileEvents (events: EventMap | undefined, options: PipelineOptions, serializer: DataSerializer, declaration: Declaration): EventPipeline {
  if (events === undefined) return untypedPipeline(serializer)
  const onInvalid = options.onInvalid ?? 'error'
  if (onInvalid !== 'error' && onInvalid !== 'skip') {
    throw declaration.invalid(`onInvalid must be 'error' or 'skip', got ${String(onInvalid)}`)
  }
  const { table, schemas } = compileTable(events, options, serializer, declaration)
  const declared = [...table.keys()].join(', ')

  // Every payload of a declared event is JSON text, strings included, so a client can parse
  // every event the same way whatever the serialize setting.
  /** The entry of an item's event; throws for an event the map does not declare. Only for items with data. */
  const entryOf = (item: SseItem): CompiledEvent => {
    const event = item.event
    const name = event === undefined || event === '' ? MESSAGE : event
    const compiled = table.get(name)
    if (compiled === undefined) throw new FST_SSE_UNKNOWN_EVENT(String(name), declared)
    return compiled
  }

  /**
   * Validates, serializes and frames one item; throws for an invalid item. What is serialized
   * is what validation returns: the data itself, or a Standard Schema's output. Text from a
   * serializer that escapes everything is framed without the line scan (encodeJsonFrame).
   */
  const frame = (item: SseItem, maxBytes: number | undefined): string => {
    assertObject(item)
    if (item.data === undefined) return encodeFrame(item, undefined, maxBytes)
    const compiled = entryOf(item)
    const check = compiled.check
    const text = compiled.serialize(check === null ? item.data : check(item.data))
    return compiled.json && typeof text === 'string' ? encodeJsonFrame(item, text, maxBytes) : encodeFrame(item, text, maxBytes)
  }

  const prepare = (item: SseItem): PreparedItem => {
    assertObject(item)
    if (item.data === undefined) return { event: item.event, text: undefined }
    const compiled = entryOf(item)
    const check = compiled.check
    return { event: item.event, text: compiled.serialize(check === null ? item.data : check(item.data)) }
  }
  if (onInvalid === 'error') return { prepare, encode: frame, schemas }

  const encodeWith = (log: FastifyBaseLogger | undefined): ItemEncoder => (item, maxBytes) => {
    try {
      return frame(item, maxBytes)
    } catch (err) {
      // Only an invalid item is skipped: a malformed event name, id or an oversized frame stays an error.
      if (!isInvalidItem(err)) throw err
      if (log !== undefined) logSafely(log, 'warn', { err }, 'event stream item skipped')
      return ''
    }
  }
  return { prepare, encode: encodeWith(options.log), encodeWith, schemas }
}

function compileTable (events: EventMap, options: EventOptions, serializer: DataSerializer, { where, invalid }: Declaration): { table: Map<string, CompiledEvent>, schemas: Record<string, object> } {
  if (events === null || typeof events !== 'object' || Array.isArray(events)) {
    throw invalid(`events must be an object of event name → schema, got ${events === null ? 'null' : typeof events}`)
  }
  const validate = options.validate ?? true
  const serialize = options.serialize ?? true
  if (typeof validate !== 'boolean') throw invalid(`validate must be a boolean, got ${typeof validate}`)
  if (typeof serialize !== 'boolean') throw invalid(`serialize must be a boolean, got ${typeof serialize}`)
  const table = new Map<string, CompiledEvent>()
  const schemas: Record<string, object> = {}
  for (const [name, schema] of Object.entries(events)) {
    if (name === '' || /[\r\n]/.test(name)) {
      throw invalid(`event names must be non-empty and free of CR and LF, got ${JSON.stringify(name)}`)
    }
    // ArkType's schemas are functions.
    if (schema === null || (typeof schema !== 'object' && !(typeof schema === 'function' && isStandardSchema(schema)))) {
      throw invalid(`the schema of event "${name}" must be a schema object, got ${schema === null ? 'null' : typeof schema}`)
    }
    const described = describe(schema)
    schemas[name] = described.documented
    const json = described.jsonSchema
    let compiled: CompiledSerializer | undefined
    if (serialize && json !== undefined) {
      try {
        compiled = compileSerializer(name, json, where)
      } catch (err) {
        // A TypeBox or JSON Schema is the user's own: refused. A converted one is the library's: then not compiled.
        if (json === schema) throw err
      }
    }
    table.set(name, {
      check: validate ? compileCheck(name, schema, where, json) : null,
      serialize: compiled ?? (serialize ? stringifySerializer(name) : (data) => serializer(data, name)),
      json: compiled !== undefined ? escapesEverything(json) : serialize || serializer === jsonSerializer
    })
  }
  if (table.size === 0) throw invalid('events must declare at least one event')
  return { table, schemas }
}

/**
 * The JSON Schema of one event's data, if it has one, and what documents it. TypeBox schemas
 * and plain JSON Schema are JSON Schema already; a Standard Schema's is converted, and one
 * without a JSON Schema form is documented as any JSON value.
 */
function describe (schema: object): { jsonSchema: object | undefined, documented: object } {
  if (schemaKind(schema) !== 'standard-schema') return { jsonSchema: schema, documented: schema }
  const converted = jsonSchemaOf(schema)
  if ('schema' in converted) return { jsonSchema: converted.schema, documented: converted.schema }
  const vendor = String((schema as { '~standard': { vendor: unknown } })['~standard'].vendor)
  return { jsonSchema: undefined, documented: { description: `Validated by a ${vendor} schema that has no JSON Schema form (${converted.reason}).` } }
}

function untypedPipeline (serializer: DataSerializer): EventPipeline {
  return {
    prepare: (item) => ({
      event: item.event,
      text: item.data === undefined ? undefined : typeof item.data === 'string' ? item.data : serializer(item.data, item.event)
    }),
    encode: (item, maxBytes) => encodeItem(item, serializer, maxBytes)
  }
}

function assertObject (item: SseItem): void {
  if (item === null || typeof item !== 'object') {
    throw new FST_SSE_INVALID_EVENT(`expected an object, got ${item === null ? 'null' : typeof item}`)
  }
}

/**
 * Whether the serializer compiled for `schema` escapes every string it writes. It does unless
 * a string is declared with `format: 'unsafe'`, which is copied verbatim and may hold a line
 * break or a lone surrogate; any mention of that format anywhere in the schema counts.
 */
function escapesEverything (schema: unknown): boolean {
  try {
    return !JSON.stringify(schema).includes('"unsafe"')
  } catch {
    return false
  }
}

function isInvalidItem (err: unknown): boolean {
  return err instanceof FST_SSE_INVALID_PAYLOAD || err instanceof FST_SSE_UNKNOWN_EVENT
}
