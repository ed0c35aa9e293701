import type { Static, TSchema } from '@sinclair/typebox'

// Types only: the browser client imports this module, so it must never gain runtime code.

/** Event name → TypeBox schema of that event's `data`. `message` is the default event's name. */
export type EventMap = Record<string, TSchema>

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

/** The `data` type of each event of a map. */
export type EventData<Events extends EventMap> = { [Name in keyof Events]: Static<Events[Name]> }

/**
 * What a route with this event map may emit: one item type per event name, each with the
 * static type of its schema as `data`, plus control items.
 */
export type EventItem<Events extends EventMap> =
  | { [Name in keyof Events & string]: Name extends 'message'
    ? DefaultEvent<Static<Events[Name]>>
    : DeclaredEvent<Name, Static<Events[Name]>> }[keyof Events & string]
  | ControlItem
