// Token streaming in a real Chromium: the page POSTs with fetch(), reads the event stream
// with its own reader, and renders the whole generated text; Stop aborts the request and the
// server stops generating.
import t0, { test } from 'tap'
import { composeReply, tokenize } from '../example-app/lib/tokens.mjs'
import { launchBrowser, screenshot, startApp, trackErrors, waitInPage } from './helpers/browser.mjs'
import { until } from './helpers/wait.mjs'

const browser = await launchBrowser(t0)

if (browser !== null) {
  test('the token stream renders the full text', async (t) => {
    const { base } = await startApp(t)
    const context = await browser.newContext({ viewport: { width: 1000, height: 700 } })
    t.teardown(() => context.close())
    const page = trackErrors(await context.newPage())
    await page.goto(base + '/tokens.html')
    const prompt = 'Why does my dashboard never miss an update?'
    await page.fill('#prompt', prompt)
    await page.click('#generate')
    await waitInPage(page, () => document.querySelector('#status').dataset.state === 'done', undefined, 'the stream to finish')

    const expected = composeReply(prompt)
    t.equal(await page.$eval('#output', (node) => node.textContent), expected, 'every chunk, in order, nothing else')
    t.equal(await page.textContent('#count'), String(tokenize(expected).length), 'one render per token event')
    t.match(await page.textContent('#status'), `done · ${tokenize(expected).length} tokens`, 'the done event arrived')
    await screenshot(t, page, 'tokens')
    t.same(page.errors, [], 'no script errors')
  })

  test('Stop aborts the request and the server stops generating', async (t) => {
    const { app, base } = await startApp(t, { tokenDelayMs: 100 })
    const context = await browser.newContext()
    t.teardown(() => context.close())
    const page = trackErrors(await context.newPage())
    await page.goto(base + '/tokens.html')
    await page.click('#generate')
    await waitInPage(page, () => Number(document.querySelector('#count').textContent) >= 2, undefined, 'the first tokens')
    t.equal(app.sse.openStreams, 1, 'the stream is open while tokens arrive')
    await page.click('#stop')
    await waitInPage(page, () => document.querySelector('#status').dataset.state === 'cancelled', undefined, 'the page to show it stopped')
    await until(() => app.sse.openStreams === 0, 'the server to end the stream')
    const shown = await page.$eval('#output', (node) => node.textContent)
    t.ok(shown.length > 0 && composeReply(await page.inputValue('#prompt')).startsWith(shown), 'a true prefix of the answer was shown')
    t.same(page.errors, [], 'no script errors')
  })
}
