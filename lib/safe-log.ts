import type { FastifyBaseLogger } from 'fastify'

type Level = 'error' | 'warn' | 'debug'

/**
 * Logs without ever throwing. A logger can throw (a custom serializer, a destination that
 * fails, an error object whose getters throw inside the serializer), and a throw here would
 * skip what must follow a log line: ending the stream. When the line cannot be written with
 * its fields, it is written once more without them.
 */
export function logSafely (log: FastifyBaseLogger, level: Level, fields: Record<string, unknown>, message: string): void {
  try {
    log[level](fields, message)
    return
  } catch {
    // retried below without the fields that may be what failed
  }
  try {
    log[level](message + ' (details could not be logged)')
  } catch {
    // Nothing more can be done about a logger that cannot log.
  }
}
