import Fastify from 'fastify'
import sse, { memoryStore } from 'fastify-typed-sse'

const store = memoryStore({
  maxEvents: 1000, // per stream (a stream's own `replay` settings win)
  maxBytes: 1024 * 1024, // per stream
  maxAgeMs: 5 * 60_000, // also enforced when reading
  maxStreams: 10_000, // least recently used idle streams go first
  maxTotalBytes: 64 * 1024 * 1024, // oldest events of the least recently used streams go first
  idleTtlMs: 10 * 60_000 // a stream nobody listens or writes to is dropped, with its epoch
})

export const app = Fastify()
await app.register(sse, { store })
app.addHook('onClose', () => store.close()) // a store passed in is yours to close

// Plain numbers: hand them to your metrics library's collect callback.
app.get('/metrics/sse', async () => app.sse.metrics())
