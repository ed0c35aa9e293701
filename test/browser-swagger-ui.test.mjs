// swagger-ui, served by @fastify/swagger-ui and rendered in Debian's Chromium, shows an SSE
// route's events in a form a reader can use: each event's name and the shape of its data, for
// every document version @fastify/swagger writes.
import t0, { test } from 'tap'
import Fastify from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { Type } from 'typebox'
import sse from 'fastify-typed-sse'
import { swaggerModes } from './helpers/swagger-modes.mjs'
import { launchBrowser, screenshot, trackErrors, waitInPage } from './helpers/browser.mjs'

const events = {
  progress: Type.Object({ step: Type.String({ examples: ['resize'] }), percent: Type.Integer({ minimum: 0, maximum: 100 }) }),
  finished: Type.Object({ ok: Type.Boolean() })
}

const modes = swaggerModes

async function startDocs (t, mode) {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(swagger, modes[mode])
  await app.register(swaggerUi, { routePrefix: '/docs' })
  await app.register(sse)
  app.get('/jobs/:id/progress', {
    schema: { params: Type.Object({ id: Type.String() }) },
    sse: { events }
  }, (request, reply) => reply.sse([]))
  await app.listen({ port: 0, host: '127.0.0.1' })
  return `http://127.0.0.1:${app.server.address().port}`
}

const browser = await launchBrowser(t0)
if (browser !== null) {
  for (const mode of Object.keys(modes)) {
    test(`swagger-ui renders the events of an SSE route (document ${mode})`, async (t) => {
      const base = await startDocs(t, mode)
      const page = trackErrors(await browser.newPage({ viewport: { width: 1200, height: 900 } }))
      t.teardown(() => page.close())
      await page.goto(`${base}/docs/static/index.html`)
      const summary = page.locator('.opblock-summary', { hasText: '/jobs/{id}/progress' })
      await summary.waitFor({ timeout: 20_000 })
      await summary.click()
      await waitInPage(page, () => document.querySelector('.responses-wrapper') !== null, null, 'the operation to open')
      const text = await page.locator('.opblock-body').innerText()
      t.notMatch(await page.locator('body').innerText(), /Unable to render this definition/, 'the document renders')
      t.match(text, /text\/event-stream/, 'the response is shown as an event stream')
      for (const name of Object.keys(events)) t.match(text, new RegExp(`\\b${name}\\b`), `event "${name}" is named`)
      for (const field of ['step', 'percent', 'ok']) t.match(text, new RegExp(`"${field}"`), `data field "${field}" is shown`)
      t.match(text, /event: progress\s+data: \{"step":"resize","percent":0\}/, 'an example stream shows the wire form of an event')
      await screenshot(t, page, `swagger-ui-${mode}`)
      t.same(page.errors, [], 'no script errors in the page')
    })
  }
}
