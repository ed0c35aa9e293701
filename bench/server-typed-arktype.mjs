// The typed bench server (server-typed.mjs) with ArkType 2 schemas: a variant of its own for the harness.
process.env.SSE_TYPED_SCHEMA = 'arktype'
await import('./server-typed.mjs')
