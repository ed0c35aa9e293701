// The typed bench server (server-typed.mjs) with Valibot 1 schemas: a variant of its own for the harness.
process.env.SSE_TYPED_SCHEMA = 'valibot'
await import('./server-typed.mjs')
