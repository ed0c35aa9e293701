// The event maps of every scenario, declared once: they type, validate and serialize what the
// server sends, and document it in one place for the pages that read it.
import { Type } from '@sinclair/typebox'

export const jobEvents = {
  progress: Type.Object({ step: Type.String(), percent: Type.Integer({ minimum: 0, maximum: 100 }) }),
  done: Type.Object({ ok: Type.Boolean(), elapsedMs: Type.Integer({ minimum: 0 }) })
}

const MetricName = Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' })
const Level = Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')])
const ServiceState = Type.Union([Type.Literal('up'), Type.Literal('degraded'), Type.Literal('down')])

export const dashboardEvents = {
  metric: Type.Object({ name: MetricName, value: Type.Number(), at: Type.Integer() }),
  alert: Type.Object({ id: Type.String(), level: Level, message: Type.String({ maxLength: 200 }), at: Type.Integer() }),
  status: Type.Object({ service: MetricName, state: ServiceState, at: Type.Integer() })
}

/** What POST /api/dashboard/events accepts: an event without the fields the server fills in. */
export const DashboardInput = Type.Union([
  Type.Object({ event: Type.Literal('metric'), data: Type.Object({ name: MetricName, value: Type.Number() }) }),
  Type.Object({ event: Type.Literal('alert'), data: Type.Object({ level: Level, message: Type.String({ minLength: 1, maxLength: 200 }) }) }),
  Type.Object({ event: Type.Literal('status'), data: Type.Object({ service: MetricName, state: ServiceState }) })
])

export const UserName = Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$' })

export const inboxEvents = {
  note: Type.Object({ from: UserName, text: Type.String({ maxLength: 500 }), at: Type.Integer() })
}

export const tokenEvents = {
  token: Type.Object({ text: Type.String() }),
  done: Type.Object({ tokens: Type.Integer({ minimum: 0 }), finish: Type.Literal('stop') })
}
