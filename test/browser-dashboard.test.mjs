// The live dashboard in a real Chromium: typed events render in order on every open page;
// a connection the server destroys while events keep coming is resumed by the browser's own
// EventSource with Last-Event-ID, with every event exactly once; a cursor that is too old gets
// the reset notice and the page recovers through the snapshot.
import t0, { test } from 'tap'
import { parseCursor } from 'fastify-typed-sse'
import { launchBrowser, screenshot, startApp, trackErrors, waitInPage } from './helpers/browser.mjs'
import { until } from './helpers/wait.mjs'

const browser = await launchBrowser(t0)
const VIEWPORT = { width: 1000, height: 700 }

/** Opens the dashboard and waits until its stream is open. */
async function openDashboard (context, base) {
  const page = await context.newPage()
  trackErrors(page)
  await page.goto(base + '/dashboard.html')
  await waitInPage(page, () => document.querySelector('#connection')?.dataset.state === 'live', undefined, 'the stream to open')
  return page
}

/** The event log as the page shows it. */
const logOf = (page) => page.$$eval('#log li', (items) => items.map((li) => ({
  event: li.dataset.event, id: li.dataset.id, data: JSON.parse(li.dataset.payload)
})))

const strip = ({ at, id, ...rest }) => rest

if (browser !== null) {
  test('events render in order, with their types and payloads, on every open page', async (t) => {
    const { app, base, post } = await startApp(t)
    const context = await browser.newContext({ viewport: VIEWPORT })
    t.teardown(() => context.close())
    const pages = [await openDashboard(context, base), await openDashboard(context, base)]
    // Two pages of one browser: one stream, shared (docs/topics.md).
    await until(() => app.sse.metrics().subscribers === 1 && app.sse.metrics().openStreams === 1, 'both pages fed by one stream')

    const items = [
      { event: 'metric', data: { name: 'cpu', value: 12.5 } },
      { event: 'status', data: { service: 'db', state: 'degraded' } },
      { event: 'alert', data: { level: 'critical', message: 'disk 97% full' } },
      { event: 'metric', data: { name: 'rps', value: 310 } },
      { event: 'status', data: { service: 'db', state: 'up' } },
      { event: 'metric', data: { name: 'cpu', value: 40.25 } }
    ]
    const ids = []
    for (const item of items) ids.push((await post('/api/dashboard/events', item)).id)

    for (const [n, page] of pages.entries()) {
      await waitInPage(page, (count) => document.querySelectorAll('#log li').length >= count, items.length, `${items.length} events on page ${n + 1}`)
      const log = await logOf(page)
      t.same(log.map((e) => e.id), ids, `page ${n + 1}: every event once, in publish order`)
      t.same(log.map((e) => e.event), items.map((i) => i.event), `page ${n + 1}: event types`)
      t.same(log.map((e) => strip(e.data)), items.map((i) => i.data), `page ${n + 1}: payloads`)
      t.ok(log.every((e) => Number.isInteger(e.data.at)), `page ${n + 1}: server timestamps arrive`)
      t.equal(await page.getAttribute('[data-metric="cpu"]', 'data-value'), '40.25', `page ${n + 1}: the cpu tile shows the last value`)
      t.equal(await page.getAttribute('[data-metric="rps"]', 'data-value'), '310', `page ${n + 1}: the rps tile`)
      t.equal(await page.getAttribute('[data-service="db"]', 'data-state'), 'up', `page ${n + 1}: db is back up`)
      t.match(await page.textContent('#alerts'), /disk 97% full/, `page ${n + 1}: the alert is listed`)
    }
    await screenshot(t, pages[0], 'dashboard')
    for (const page of pages) t.same(page.errors, [], 'no script errors')
  })

  test('the server destroys the connection mid-stream: EventSource resumes with Last-Event-ID, nothing lost or repeated', async (t) => {
    const { app, base, post, drop } = await startApp(t)
    const context = await browser.newContext({ viewport: VIEWPORT })
    t.teardown(() => context.close())
    const sent = [] // the Last-Event-ID header of each stream request the browser made
    context.on('request', async (request) => {
      if (request.url().includes('/api/events')) sent.push((await request.allHeaders())['last-event-id'] ?? null)
    })
    const page = await openDashboard(context, base)
    await until(() => app.sse.metrics().subscribers === 1, 'the page to subscribe')

    // A steady publisher, with the connection cut while it runs.
    const ids = []
    let idAtDrop
    const total = 40
    for (let i = 1; i <= total; i++) {
      ids.push((await post('/api/dashboard/events', { event: 'metric', data: { name: 'seq', value: i } })).id)
      if (i === 10) {
        await waitInPage(page, () => document.querySelectorAll('#log li').length >= 10, undefined, 'the first 10 events')
        idAtDrop = ids[9]
        drop()
      }
      await new Promise((resolve) => setTimeout(resolve, 15))
    }

    await waitInPage(page, (count) => document.querySelectorAll('#log li').length >= count, total, `all ${total} events after the reconnect`)
    // Anything extra (a duplicate) would arrive right behind: give it a moment to show up.
    await post('/api/dashboard/events', { event: 'metric', data: { name: 'seq', value: total + 1 } }).then(({ id }) => ids.push(id))
    await waitInPage(page, (count) => document.querySelectorAll('#log li').length >= count, total + 1, 'the last event')
    const log = await logOf(page)
    t.same(log.map((e) => e.id), ids, 'every event exactly once, in order')
    t.same(log.map((e) => e.data.value), Array.from({ length: total + 1 }, (_, i) => i + 1), 'payloads 1..41 in order')
    t.ok(Number(await page.getAttribute('body', 'data-opens')) >= 2, 'the browser reconnected')
    t.notOk(await page.getAttribute('body', 'data-resets'), 'no reset notice')
    t.equal(sent[0], null, 'the first request carried no header (its position came in the URL)')
    const [entry] = parseCursor(sent[1]).values()
    t.equal(`${entry.epoch}:${entry.offset}`, idAtDrop, 'the reconnect sent Last-Event-ID: the cursor at the last event the page had')
    t.ok(app.sse.metrics().replays >= 2, 'the server resumed the reconnect from its id')
    t.same(page.errors, [], 'no script errors')
  })

  test('a cursor older than the replay buffer gets the reset notice; the page reloads the snapshot', async (t) => {
    const { app, base, post, drop, get } = await startApp(t, { dashboardReplay: { maxEvents: 5 } })
    const context = await browser.newContext({ viewport: VIEWPORT })
    t.teardown(() => context.close())
    const page = await openDashboard(context, base)
    await until(() => app.sse.metrics().subscribers === 1, 'the page to subscribe')
    await post('/api/dashboard/events', { event: 'metric', data: { name: 'cpu', value: 1 } })
    await waitInPage(page, () => document.querySelectorAll('#log li').length === 1, undefined, 'the first event')

    // The laptop goes to sleep: no network, and the server has long dropped the connection.
    await context.setOffline(true)
    drop()
    await until(() => app.sse.metrics().subscribers === 0, 'the server to see the client gone')
    for (let i = 0; i < 12; i++) await post('/api/dashboard/events', { event: 'metric', data: { name: 'cpu', value: 50 + i } })
    await post('/api/dashboard/events', { event: 'status', data: { service: 'api', state: 'down' } })
    await post('/api/dashboard/events', { event: 'alert', data: { level: 'warning', message: 'missed while away' } })
    await context.setOffline(false)

    await waitInPage(page, () => document.querySelector('#notice')?.dataset.recovered === 'true', undefined, 'the reset and the snapshot reload')
    t.equal(await page.getAttribute('#notice', 'data-reason'), 'trimmed', 'the reset says why')
    t.equal(app.sse.metrics().resets.trimmed, 1, 'the server sent one trimmed reset')
    t.equal(await page.getAttribute('body', 'data-snapshots'), '2', 'the snapshot was fetched again')
    const { body: snapshot } = await get('/api/dashboard/snapshot')
    t.equal(await page.getAttribute('[data-metric="cpu"]', 'data-value'), String(snapshot.state.metrics.cpu.value), 'cpu tile matches the server state')
    t.equal(await page.getAttribute('[data-metric="cpu"]', 'data-value'), '61', 'the last value published while away')
    t.equal(await page.getAttribute('[data-service="api"]', 'data-state'), 'down', 'a status change missed while away shows')
    t.match(await page.textContent('#alerts'), /missed while away/, 'an alert missed while away shows')
    t.equal((await logOf(page)).length, 1, 'the missed events were not replayed one by one')

    // And it is live again from the reset position.
    const { id } = await post('/api/dashboard/events', { event: 'metric', data: { name: 'cpu', value: 7 } })
    await waitInPage(page, () => document.querySelectorAll('#log li').length === 2, undefined, 'a live event after the reset')
    t.equal((await logOf(page))[1].id, id)
    t.equal(await page.getAttribute('[data-metric="cpu"]', 'data-value'), '7')
    await screenshot(t, page, 'dashboard-after-reset')
    t.same(page.errors, [], 'no script errors')
  })
}
