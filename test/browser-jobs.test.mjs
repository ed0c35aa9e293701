// Job progress in a real Chromium: typed progress events drive the bar and the log, then
// `done`; closing the page (or Cancel) ends the EventSource, which aborts the producer's
// signal, and the server records the job as cancelled.
import t0, { test } from 'tap'
import { launchBrowser, screenshot, startApp, trackErrors, waitInPage } from './helpers/browser.mjs'
import { until } from './helpers/wait.mjs'

const browser = await launchBrowser(t0)

async function openJobs (context, base) {
  const page = trackErrors(await context.newPage())
  await page.goto(base + '/jobs.html')
  return page
}

const logOf = (page) => page.$$eval('#log li', (items) => items.map((li) => ({ event: li.dataset.event, data: JSON.parse(li.dataset.payload) })))

if (browser !== null) {
  test('a job runs to the end: progress events in order, then done', async (t) => {
    const { base, get } = await startApp(t)
    const context = await browser.newContext({ viewport: { width: 1000, height: 700 } })
    t.teardown(() => context.close())
    const page = await openJobs(context, base)
    await page.selectOption('#speed', 'fast')
    await page.click('#start')
    await waitInPage(page, () => document.querySelector('#status').dataset.state === 'done', undefined, 'the job to finish', 15_000)

    const log = await logOf(page)
    const progress = log.filter((e) => e.event === 'progress')
    t.same(log.map((e) => e.event), [...progress.map(() => 'progress'), 'done'], 'progress events, then one done, last')
    t.same(progress.map((e) => e.data.percent), Array.from({ length: 20 }, (_, i) => (i + 1) * 5), 'percent 5, 10, … 100 in order')
    t.ok(progress.every((e) => typeof e.data.step === 'string' && e.data.step.length > 0), 'every progress event names its step')
    t.equal(progress[0].data.step, 'Reading input')
    t.equal(progress.at(-1).data.step, 'Verifying')
    t.equal(log.at(-1).data.ok, true, 'done reports success')
    t.equal(await page.textContent('#percent'), '100%')
    t.equal(await page.$eval('#bar', (bar) => bar.style.width), '100%', 'the bar is full')

    const id = await page.getAttribute('body', 'data-job-id')
    const { body: job } = await get(`/api/jobs/${id}`)
    t.equal(job.status, 'done', 'the server finished the job')
    await screenshot(t, page, 'jobs')
    t.same(page.errors, [], 'no script errors')
  })

  test('closing the page stops the job on the server', async (t) => {
    const { app, base, get, post } = await startApp(t)
    const context = await browser.newContext()
    t.teardown(() => context.close())
    const page = await openJobs(context, base)
    await page.selectOption('#speed', 'slow')
    await page.click('#start')
    // Running, not merely started: its first progress event reached the page.
    await waitInPage(page, () => document.querySelectorAll('#log li').length >= 1, undefined, 'the first progress event', 5_000)
    const id = await page.getAttribute('body', 'data-job-id')
    t.equal((await get(`/api/jobs/${id}`)).body.status, 'running', 'the job runs while the page watches')
    t.same(page.errors, [], 'no script errors')
    await page.close()

    const job = await until(async () => {
      const { body } = await get(`/api/jobs/${id}`)
      return body.status === 'running' ? false : body
    }, `job ${id} to stop after its page closed`, 5_000)
    t.equal(job.status, 'cancelled', 'the server cancelled the job')
    t.ok(job.percent < 100, `it stopped part-way (${job.percent}%)`)
    await until(() => app.sse.openStreams === 0, 'the stream to be gone')
    // It stays stopped: the producer is not running somewhere in the background. A job of the
    // same speed started now is the witness: once it has made a step, the cancelled one would
    // have made its next step too (its step timer started earlier, for the same duration).
    const witness = await post('/api/jobs', { speed: 'slow' })
    const stream = new AbortController()
    t.teardown(() => stream.abort())
    await fetch(`${base}/api/jobs/${witness.id}/events`, { headers: { accept: 'text/event-stream' }, signal: stream.signal })
    await until(async () => (await get(`/api/jobs/${witness.id}`)).body.percent > 0, 'the witness job to make a step', 5_000)
    stream.abort()
    t.same((await get(`/api/jobs/${id}`)).body, job, 'nothing moved after the cancel')
  })

  test('Cancel closes the stream; the page shows what the server recorded', async (t) => {
    const { base, get } = await startApp(t)
    const context = await browser.newContext()
    t.teardown(() => context.close())
    const page = await openJobs(context, base)
    await page.selectOption('#speed', 'slow')
    await page.click('#start')
    await waitInPage(page, () => document.querySelectorAll('#log li').length >= 1, undefined, 'the first progress event', 5_000)
    await page.click('#cancel')
    await waitInPage(page, () => document.querySelector('#status').textContent === 'cancelled on the server', undefined, 'the server-side status')
    const id = await page.getAttribute('body', 'data-job-id')
    t.equal((await get(`/api/jobs/${id}`)).body.status, 'cancelled')
    t.same(page.errors, [], 'no script errors')
  })
}
