// The typed bench server (server-typed.mjs) with Zod 4 schemas: a variant of its own for the harness.
process.env.SSE_TYPED_SCHEMA = 'zod'
await import('./server-typed.mjs')
