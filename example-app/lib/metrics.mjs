import diagnostics from 'node:diagnostics_channel'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/** Serves the app's event-stream metrics to Prometheus at GET /metrics. */
export function metricsRoute (app) {
  const register = new Registry()
  const registers = [register]
  // Read from app.sse.metrics() when Prometheus scrapes: nothing runs between scrapes.
  for (const [name, field, help] of [
    ['sse_open_streams', 'openStreams', 'Event streams open now'],
    ['sse_subscribers', 'subscribers', 'Connections on replay streams now'],
    ['sse_limit_keys', 'limitKeys', 'Keys holding stream slots now']
  ]) {
    register.registerMetric(new Gauge({ name, help, registers: [], collect () { this.set(app.sse.metrics()[field]) } }))
  }
  // The diagnostics channels feed counters and a histogram as streams end and events go out.
  const ended = new Counter({ name: 'sse_streams_ended_total', help: 'Event streams ended, by reason', labelNames: ['reason'], registers })
  const duration = new Histogram({
    name: 'sse_stream_duration_seconds',
    help: 'How long event streams stayed open',
    labelNames: ['reason'],
    registers,
    buckets: [1, 10, 60, 300, 900, 3600]
  })
  const published = new Counter({ name: 'sse_published_total', help: 'Events published, by stream', labelNames: ['stream'], registers })
  const resets = new Counter({ name: 'sse_resets_total', help: 'Reset notices sent, by reason', labelNames: ['reason'], registers })
  const onEnd = ({ reason, durationMs }) => {
    ended.inc({ reason })
    duration.observe({ reason }, durationMs / 1000)
  }
  const onPublish = ({ stream }) => published.inc({ stream })
  const onReset = ({ reason }) => resets.inc({ reason })
  diagnostics.subscribe('fastify-typed-sse:stream:end', onEnd)
  diagnostics.subscribe('fastify-typed-sse:publish', onPublish)
  diagnostics.subscribe('fastify-typed-sse:reset', onReset)
  app.addHook('onClose', async () => {
    diagnostics.unsubscribe('fastify-typed-sse:stream:end', onEnd)
    diagnostics.unsubscribe('fastify-typed-sse:publish', onPublish)
    diagnostics.unsubscribe('fastify-typed-sse:reset', onReset)
  })

  app.get('/metrics', async (request, reply) => {
    reply.type(register.contentType)
    return register.metrics()
  })
}
