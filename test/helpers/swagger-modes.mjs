// The @fastify/swagger options for each document version it writes: Swagger 2.0 and
// OpenAPI 3.0.3, 3.1.0 and 3.2.0.
const info = { title: 'jobs', version: '1.0.0' }
export const swaggerModes = {
  '2.0': { swagger: { info } },
  '3.0.3': { openapi: { openapi: '3.0.3', info } },
  '3.1.0': { openapi: { openapi: '3.1.0', info } },
  '3.2.0': { openapi: { openapi: '3.2.0', info } }
}
