// CommonJS users load the CommonJS build through the exports map, with working types and code.
const { test } = require('tap')
const Fastify = require('fastify')

test('require() gets the plugin, the named export and the encoder', async (t) => {
  const pkg = require('fastify-typed-sse')
  t.equal(typeof pkg.default, 'function')
  t.equal(pkg.fastifyTypedSse, pkg.default)
  t.equal(pkg.encodeEvent({ id: 0, data: 'x' }), 'id: 0\ndata: x\n\n')
  t.match(require.resolve('fastify-typed-sse'), /dist[\\/]cjs[\\/]index\.js$/)

  const app = Fastify()
  await app.register(pkg.default)
  app.get('/', (request, reply) => reply.sse([{ data: 'hello' }]))
  const res = await app.inject('/')
  t.equal(res.body, ':\n\ndata: hello\n\n')
  await app.close()
})

test('the testing helpers load from CommonJS too', async (t) => {
  const { decodeEvents } = require('fastify-typed-sse/testing')
  t.same(decodeEvents('data: a\n\n'), [{ type: 'message', data: 'a', lastEventId: '' }])
})
