// The landing page in a real Chromium: it renders, and each of its links opens a scenario
// page whose scripts load and run without errors.
import t0, { test } from 'tap'
import { launchBrowser, screenshot, startApp, trackErrors, waitInPage } from './helpers/browser.mjs'

const browser = await launchBrowser(t0)

if (browser !== null) {
  test('the landing page links every scenario', async (t) => {
    const { base } = await startApp(t)
    const context = await browser.newContext({ viewport: { width: 1000, height: 700 } })
    t.teardown(() => context.close())
    const page = trackErrors(await context.newPage())
    await page.goto(base + '/')
    await waitInPage(page, () => /memory store/.test(document.querySelector('#instance').textContent), undefined, 'the instance badge')
    const links = await page.$$eval('.scenarios a', (as) => as.map((a) => ({ href: a.getAttribute('href'), title: a.querySelector('h2').textContent })))
    t.same(links, [
      { href: '/jobs.html', title: 'Job progress' },
      { href: '/dashboard.html', title: 'Live dashboard' },
      { href: '/notifications.html', title: 'Per-user notifications' },
      { href: '/tokens.html', title: 'Token streaming' }
    ])
    await screenshot(t, page, 'landing')

    for (const { href, title } of links) {
      await page.click(`a[href="${href}"]`)
      await page.waitForURL(base + href)
      // Every page fills the instance badge from its own module once that module has run.
      await waitInPage(page, () => /store/.test(document.querySelector('#instance').textContent), undefined, `${title}'s scripts to run`)
      t.match(await page.textContent('header h1'), title === 'Per-user notifications' ? 'Notifications' : title, `${title} opened`)
      await page.goBack()
    }
    t.same(page.errors, [], 'no script errors on any page')
  })
}
