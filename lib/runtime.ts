import type { FastifyRequest } from 'fastify'
import type { Budget } from './budget.js'
import type { ConnectionLimits } from './connection.js'
import type { ItemEncoder } from './encode.js'
import type { ResolvedOptions } from './options.js'
import type { Registry } from './registry.js'

/** Plugin-wide state shared by every stream of one plugin instance. */
export interface Runtime {
  readonly options: ResolvedOptions
  readonly registry: Registry
  /** What every connection of the instance is held to, the shared budget for queued bytes among it. */
  readonly limits: ConnectionLimits
  readonly budget: Budget
  closing: boolean
  /** The item pipeline (validation, serialization, encoding) of the request's route; the plain one for `undefined`. */
  encoderFor: (request: FastifyRequest | undefined) => ItemEncoder
}
