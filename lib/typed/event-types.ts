// Types only: the browser client imports this module, so it must never gain runtime code, and
// it imports no schema library: every schema library is an optional peer, and a declaration file
// naming a package the user has not installed breaks compilation under `skipLibCheck: false`.

/**
 * The schema of one event's `data`: a TypeBox schema (`typebox` 1.x or `@sinclair/typebox`
 * 0.34), a Standard Schema (Zod 4, Valibot 1, ArkType 2: an ArkType schema is a function, which
 * `object` includes), or a plain JSON Schema object (then `validate: false`, and `data` is `unknown`).
 */
export type EventSchema = object

/** Event name → schema of that event's `data`. `message` is the default event's name. */
export type EventMap = Record<string, EventSchema>

/**
 * What the data of a TypeBox 1.x schema becomes when no type provider can give its static type:
 * a type no value has, whose name says what to do, so the route fails to compile instead of
 * accepting anything.
 */
export interface TypeBox1NeedsTypeProvider {
  readonly 'typebox 1.x schemas are typed by their type provider: declare the route on app.withTypeProvider<TypeBoxTypeProvider>() (@fastify/type-provider-typebox), or pass the provider as the second type argument': never
}

// A TypeBox 1.x string schema: asks a provider whether it knows TypeBox 1.x at all.
interface ProbeSchema { '~kind': 'String', type: 'string' }

/**
 * The static type a Fastify type provider gives `Schema` (the provider's `serializer` side:
 * events are output). Fastify's own HKT convention: the provider reads `this['schema']`.
 */
type ProvidedStatic<Schema, Provider> = Provider extends { readonly serializer: unknown }
  ? unknown extends (Provider & { schema: ProbeSchema })['serializer']
    ? TypeBox1NeedsTypeProvider
    : (Provider & { schema: Schema })['serializer']
  : TypeBox1NeedsTypeProvider

/** A Standard Schema's `~standard.types` (`{ input, output }`, present in types only). */
interface StandardTyped { readonly '~standard': { readonly types?: unknown } }

/**
 * The static type of one event schema: what a handler yields, `send()` takes and a stream's
 * `publish()` takes. TypeBox 0.34 schemas carry it as the phantom `static` property (what its
 * own `Static<>` reads); TypeBox 1.x computes it from the schema's shape, which only its own
 * types know, reached here through the route's type provider; a Standard Schema gives its
 * input type (what its `validate` accepts: the items are validated, then its output is sent,
 * see WireOf); a plain JSON Schema gives `unknown`.
 */
export type StaticOf<Schema, Provider = unknown> =
  Schema extends { readonly static: unknown, readonly params: unknown[] }
    ? (Schema & { params: [] })['static']
    : Schema extends { readonly '~kind': string }
      ? ProvidedStatic<Schema, Provider>
      : Schema extends StandardTyped
        ? NonNullable<Schema['~standard']['types']> extends { readonly input: infer Input } ? Input : unknown
        : unknown

/**
 * What one event's data is on the wire, as clients and stream filters read it: a Standard
 * Schema's output type (what its `validate` returns, before JSON), the same as StaticOf for
 * TypeBox and JSON Schema, which do not transform.
 */
export type WireOf<Schema, Provider = unknown> =
  Schema extends { readonly static: unknown, readonly params: unknown[] } | { readonly '~kind': string }
    ? StaticOf<Schema, Provider>
    : Schema extends StandardTyped
      ? NonNullable<Schema['~standard']['types']> extends { readonly output: infer Output } ? Output : unknown
      : unknown

/** The fields any item may carry besides `event` and `data`. */
export interface ItemFields {
  /** Last event ID: a string without CR, LF or NUL, or a safe integer. */
  id?: string | number
  /** Reconnection delay hint in milliseconds. */
  retry?: number
  /** A comment line (ignored by clients). */
  comment?: string
}

/** An item of one declared event. */
export interface DeclaredEvent<Name extends string, Data> extends ItemFields {
  event: Name
  data: Data
}

/** An item of the default event: a browser dispatches it as `message`, so the name may be left out. */
export interface DefaultEvent<Data> extends ItemFields {
  event?: 'message'
  data: Data
}

/** An item that fires no event: it moves the last event ID, sets `retry`, or carries a comment. */
export interface ControlItem extends ItemFields {
  event?: undefined
  data?: undefined
}

/** The `data` type of each event of a map (`Provider`: the type provider TypeBox 1.x schemas need). */
export type EventData<Events extends EventMap, Provider = unknown> = { [Name in keyof Events]: StaticOf<Events[Name], Provider> }

/**
 * What a route with this event map may emit: one item type per event name, each with the
 * static type of its schema as `data`, plus control items.
 */
export type EventItem<Events extends EventMap, Provider = unknown> =
  | { [Name in keyof Events & string]: Name extends 'message'
    ? DefaultEvent<StaticOf<Events[Name], Provider>>
    : DeclaredEvent<Name, StaticOf<Events[Name], Provider>> }[keyof Events & string]
  | ControlItem
