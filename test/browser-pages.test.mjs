// Every page of the example app in a real Chromium, used as a visitor would: no console error,
// no failed request and no error response on any of them, from the first visit (logged out)
// to the end of each scenario. The rough edges a first visit shows are checked on the way: the
// icon, the not-found page, a finished job, the sender's confirmation, the simulated dashboard.
import t0, { test } from 'tap'
import { launchBrowser, screenshot, startApp, trackErrors, waitInPage } from './helpers/browser.mjs'

const browser = await launchBrowser(t0)

/**
 * A new page whose console errors and warnings, failed requests and error responses are all
 * collected in `page.problems`; `expect(url, status)` excuses one response the test asked for.
 */
async function watchedPage (t) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } })
  const page = trackErrors(await context.newPage())
  const problems = []
  const expected = new Map()
  let closing = false
  page.on('console', (message) => {
    if (message.type() !== 'error' && message.type() !== 'warning') return
    // Chromium reports every error response in the console, the one the test asked for too.
    const status = message.text().match(/^Failed to load resource: the server responded with a status of (\d+)/)?.[1]
    if (status !== undefined && expected.get(message.location().url)?.has(Number(status))) return
    problems.push(`console ${message.type()}: ${message.text()} (${message.location().url})`)
  })
  page.on('requestfailed', (request) => {
    // A page that closes its EventSource (the job is done) or is left aborts that request:
    // the page's own doing, not a failure. A stream cut by the network fails otherwise.
    const closed = request.resourceType() === 'eventsource' && request.failure()?.errorText === 'net::ERR_ABORTED'
    if (!closing && !closed) problems.push(`failed: ${request.method()} ${request.url()} ${request.failure()?.errorText}`)
  })
  page.on('response', (response) => {
    const status = response.status()
    if (status < 400) return
    if (expected.get(response.url())?.has(status)) return
    problems.push(`${status}: ${response.request().method()} ${response.url()}`)
  })
  t.teardown(async () => {
    closing = true
    await context.close()
  })
  page.problems = problems
  page.expect = (url, status) => expected.set(url, new Set([...(expected.get(url) ?? []), status]))
  page.checked = (what) => {
    t.same(problems, [], `${what}: no console error, failed request or error response`)
    t.same(page.errors, [], `${what}: no script error`)
  }
  return page
}

/** The page's icon, as the browser would load it. */
async function icon (page) {
  return page.evaluate(async () => {
    const link = document.querySelector('link[rel="icon"]')
    if (link === null) return null
    const response = await fetch(link.href)
    return { status: response.status, type: response.headers.get('content-type') }
  })
}

if (browser !== null) {
  test('every page loads with an icon and nothing in the console', async (t) => {
    const { base } = await startApp(t)
    for (const path of ['/', '/jobs.html', '/dashboard.html', '/notifications.html', '/tokens.html']) {
      const page = await watchedPage(t)
      const response = await page.goto(base + path)
      t.equal(response.status(), 200, path)
      // Every page fills the instance badge from its own module once that module has run.
      await waitInPage(page, () => /store/.test(document.querySelector('#instance').textContent), undefined, `${path}'s scripts to run`)
      t.same(await icon(page), { status: 200, type: 'image/svg+xml' }, `${path} names an icon that loads`)
      if (path === '/notifications.html') {
        await waitInPage(page, () => !document.querySelector('#login').hidden, undefined, 'the login form')
      }
      if (path === '/dashboard.html') {
        await waitInPage(page, () => document.querySelector('#connection').dataset.state === 'live', undefined, 'the dashboard stream')
      }
      page.checked(path)
    }
  })

  test('an unknown address: a styled page that links home', async (t) => {
    const { base } = await startApp(t)
    const page = await watchedPage(t)
    page.expect(base + '/no/such/page', 404)
    const response = await page.goto(base + '/no/such/page')
    t.equal(response.status(), 404)
    t.match(await page.textContent('h2'), 'There is no page here')
    t.ok(await page.evaluate(() => window.getComputedStyle(document.querySelector('header')).display === 'flex'), 'styled like the other pages')
    t.same(await icon(page), { status: 200, type: 'image/svg+xml' })
    await screenshot(t, page, 'not-found')
    await page.click('#home')
    await page.waitForURL(base + '/')
    await waitInPage(page, () => document.querySelectorAll('.scenarios a').length === 4, undefined, 'the landing page')
    page.checked('the not-found page and the way back')
  })

  test('a finished job says it is done, not its last step', async (t) => {
    const { base } = await startApp(t)
    const page = await watchedPage(t)
    await page.goto(base + '/jobs.html')
    await page.selectOption('#speed', 'fast')
    await page.click('#start')
    await waitInPage(page, () => document.querySelector('#status').dataset.state === 'done', undefined, 'the job to finish')
    t.equal(await page.textContent('#percent'), '100%')
    t.match(await page.textContent('#step'), /^Done in \d+\.\d s$/, 'the job as a whole is over')
    page.checked('a job from start to end')
  })

  test('notifications: logged out without an error, then the sender sees the note was sent', async (t) => {
    const { base } = await startApp(t)
    const page = await watchedPage(t)
    await page.goto(base + '/notifications.html')
    await waitInPage(page, () => !document.querySelector('#login').hidden, undefined, 'the login form')
    await page.fill('#name', 'ann')
    await Promise.all([page.waitForNavigation(), page.click('#login-form button')])
    await waitInPage(page, () => document.querySelector('#connection').dataset.state === 'live', undefined, 'the inbox stream')
    await page.fill('#to', 'ann')
    await page.fill('#text', 'hello me')
    await page.click('#send-form button')
    await waitInPage(page, () => /^Sent to ann at /.test(document.querySelector('#sent').textContent), undefined, 'the confirmation')
    t.equal(await page.inputValue('#text'), '', 'the message box is emptied for the next note')
    await waitInPage(page, () => document.querySelector('#notes li[data-text="hello me"]') !== null, undefined, 'the note in the inbox')
    await screenshot(t, page, 'notifications-sent')
    page.checked('log in, send, receive')
  })

  test('the dashboard says its data is simulated', async (t) => {
    const { base, post } = await startApp(t)
    const page = await watchedPage(t)
    await page.goto(base + '/dashboard.html')
    await waitInPage(page, () => document.querySelector('#connection').dataset.state === 'live', undefined, 'the dashboard stream')
    await post('/api/dashboard/events', { event: 'status', data: { service: 'db', state: 'down' } })
    await waitInPage(page, () => document.querySelector('[data-service="db"]')?.dataset.state === 'down', undefined, 'a service down')
    t.ok(await page.isVisible('#simulated'), 'the banner is shown')
    t.match(await page.textContent('#simulated'), /^Simulated data\./)
    t.same(await page.$$eval('.card h2 .tag.simulated', (tags) => tags.map((tag) => tag.closest('h2').firstChild.textContent)),
      ['Metrics', 'Services', 'Alerts'], 'and so is each panel of simulated values')
    await screenshot(t, page, 'dashboard-simulated')
    page.checked('the dashboard')
  })

  test('token streaming from prompt to the end', async (t) => {
    const { base } = await startApp(t)
    const page = await watchedPage(t)
    await page.goto(base + '/tokens.html')
    await page.click('#generate')
    await waitInPage(page, () => document.querySelector('#status').dataset.state === 'done', undefined, 'the stream to finish')
    page.checked('a generation')
  })
}
