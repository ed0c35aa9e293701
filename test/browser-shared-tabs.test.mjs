// One connection per browser, in a real Chromium over HTTP/1.1: many dashboard tabs of one
// browser profile share one event stream; every tab gets every event once and in order; when
// the tab holding the connection closes, crashes, freezes or hangs, another takes over from the
// last event seen, with nothing lost or repeated in any tab; a tab joining with a new topic gets
// it on the same connection; and where Web Locks are missing every tab falls back to a
// connection of its own.
import t0, { test } from 'tap'
import { launchBrowser, startApp, trackErrors, waitInPage } from './helpers/browser.mjs'
import { until } from './helpers/wait.mjs'

const browser = await launchBrowser(t0)
const VIEWPORT = { width: 800, height: 600 }
const STREAM = '/api/events'

/**
 * A browser profile on the example app that knows which of its tabs holds the dashboard's
 * stream (the one that made the last stream request), and counts the server's open streams.
 */
async function profile (t, options = {}) {
  const server = await startApp(t, options)
  const streams = new Set()
  server.app.server.on('request', (request) => {
    if (!request.url.startsWith(STREAM)) return
    streams.add(request.socket)
    request.socket.once('close', () => streams.delete(request.socket))
  })
  const context = await browser.newContext({ viewport: VIEWPORT })
  t.teardown(() => context.close())
  let holder = null
  context.on('request', (request) => {
    if (request.url().includes(STREAM)) holder = request.frame().page()
  })
  let seq = 0
  const published = []
  return {
    ...server,
    context,
    streams,
    holder: () => holder,
    /** Opens a dashboard tab and waits until it is live. */
    async open () {
      const page = trackErrors(await context.newPage())
      await page.goto(server.base + '/dashboard.html')
      await waitInPage(page, () => document.querySelector('#connection')?.dataset.state === 'live', undefined, 'the stream to open')
      return page
    },
    /** Publishes the next numbered event; returns its id. */
    async publish () {
      const { id } = await server.post('/api/dashboard/events', { event: 'metric', data: { name: 'seq', value: ++seq } })
      published.push({ id, seq })
      return id
    },
    published
  }
}

/** The numbered events a tab has shown, in order. */
const seqOf = (page) => page.$$eval('#log li', (items) => items.map((li) => ({ id: li.dataset.id, seq: JSON.parse(li.dataset.payload).value })))
const shown = (page, count) => waitInPage(page, (n) => document.querySelectorAll('#log li').length >= n, count, `${count} events`)

/** Every tab shows exactly the events published since it opened, once each and in order. */
async function checkEvery (t, tabs, published, what) {
  for (const [n, { page, from }] of tabs.entries()) {
    const expected = published.slice(from)
    // A tab that falls short fails on the comparison below, which shows what it has.
    await shown(page, expected.length).catch(() => {})
    t.same(await seqOf(page), expected, `${what}: tab ${n + 1} has events ${from + 1}..${published.length}, once each, in order`)
  }
}

if (browser !== null) {
  test('ten tabs load and stay live on one event stream; each gets every event once, in order', async (t) => {
    const p = await profile(t)
    const tabs = []
    // Events go out while tabs open: each tab starts from the position its snapshot was taken at.
    for (let i = 0; i < 10; i++) {
      tabs.push({ page: await p.open(), from: p.published.length })
      await p.publish()
      await p.publish()
    }
    t.equal(p.streams.size, 1, 'the server holds one stream for ten tabs')
    t.equal(p.app.sse.metrics().subscribers, 1, 'one subscriber')
    for (let i = 0; i < 30; i++) await p.publish()
    await checkEvery(t, tabs, p.published, 'ten tabs')
    t.equal(p.streams.size, 1, 'still one stream')
    for (const { page } of tabs) t.same(page.errors, [], 'no script errors')
  })

  test('the holding tab closes: another takes over from the last event, nothing lost or repeated', async (t) => {
    const p = await profile(t)
    const tabs = []
    for (let i = 0; i < 4; i++) tabs.push({ page: await p.open(), from: 0 })
    for (let i = 0; i < 10; i++) await p.publish()
    await checkEvery(t, tabs, p.published, 'before')
    const leader = p.holder()
    const rest = tabs.filter(({ page }) => page !== leader)
    t.equal(rest.length, 3, 'the holder is one of the tabs')

    // Events published while no tab holds the stream are replayed to the next holder.
    const closedAt = Date.now()
    await leader.close({ runBeforeUnload: false })
    await p.publish()
    await Promise.all(rest.map(({ page }) => shown(page, p.published.length)))
    const handOver = Date.now() - closedAt
    t.comment(`close of the holding tab to the next event in the 3 other tabs: ${handOver} ms`)
    t.not(p.holder(), leader, 'another tab holds the stream')
    for (let i = 0; i < 10; i++) await p.publish()
    await checkEvery(t, rest, p.published, 'after the close')
    await until(() => p.streams.size === 1, 'one stream again')
    for (const { page } of rest) t.same(page.errors, [], 'no script errors')
  })

  test('the holding tab crashes: another takes over, nothing lost or repeated', async (t) => {
    const p = await profile(t)
    const tabs = []
    for (let i = 0; i < 4; i++) tabs.push({ page: await p.open(), from: 0 })
    for (let i = 0; i < 5; i++) await p.publish()
    await checkEvery(t, tabs, p.published, 'before')
    const leader = p.holder()
    const rest = tabs.filter(({ page }) => page !== leader)
    const crashed = new Promise((resolve) => leader.once('crash', resolve))
    const cdp = await p.context.newCDPSession(leader)
    cdp.send('Page.crash').catch(() => {}) // answers never: the renderer is gone
    await crashed
    for (let i = 0; i < 5; i++) await p.publish()
    await checkEvery(t, rest, p.published, 'after the crash')
    t.not(p.holder(), leader, 'another tab holds the stream')
    await until(() => p.streams.size === 1, 'one stream again')
    for (const { page } of rest) t.same(page.errors, [], 'no script errors')
  })

  // Chromium fires `freeze` before it freezes a page (headless Chromium here ignores
  // Page.setWebLifecycleState for a visible page, so the test fires the event and then stops
  // the page's main thread with the debugger, which is what freezing does to it).
  test('the holding tab is frozen: it hands over at once; resumed, it catches up as a follower', async (t) => {
    const p = await profile(t)
    const tabs = []
    for (let i = 0; i < 3; i++) tabs.push({ page: await p.open(), from: 0 })
    for (let i = 0; i < 5; i++) await p.publish()
    await checkEvery(t, tabs, p.published, 'before')
    const leader = p.holder()
    const rest = tabs.filter(({ page }) => page !== leader)
    const cdp = await p.context.newCDPSession(leader)
    await cdp.send('Debugger.enable')
    const frozenAt = Date.now()
    await leader.evaluate(() => document.dispatchEvent(new Event('freeze')))
    await cdp.send('Debugger.pause')
    await p.publish()
    await Promise.all(rest.map(({ page }) => shown(page, p.published.length)))
    t.comment(`freeze of the holding tab to the next event in the 2 other tabs: ${Date.now() - frozenAt} ms`)
    t.not(p.holder(), leader, 'another tab holds the stream')
    for (let i = 0; i < 5; i++) await p.publish()
    await checkEvery(t, rest, p.published, 'while frozen')
    await cdp.send('Debugger.resume')
    await leader.evaluate(() => document.dispatchEvent(new Event('resume')))
    for (let i = 0; i < 5; i++) await p.publish()
    await checkEvery(t, tabs, p.published, 'after the resume')
    t.equal(p.streams.size, 1, 'one stream')
    for (const { page } of tabs) t.same(page.errors, [], 'no script errors')
  })

  test('the holding tab hangs, lock held: the others take the stream over; it steps down when it wakes', async (t) => {
    const p = await profile(t)
    const tabs = []
    for (let i = 0; i < 3; i++) tabs.push({ page: await p.open(), from: 0 })
    for (let i = 0; i < 5; i++) await p.publish()
    await checkEvery(t, tabs, p.published, 'before')
    const leader = p.holder()
    const rest = tabs.filter(({ page }) => page !== leader)
    // Its main thread stops at its next task: no heartbeat, no answer, and its lock still held.
    const cdp = await p.context.newCDPSession(leader)
    await cdp.send('Debugger.enable')
    await cdp.send('Debugger.pause')
    const hungAt = Date.now()
    await until(() => p.holder() !== leader, 'another tab to take the stream', 15_000)
    t.comment(`a hung holding tab is replaced after ${Date.now() - hungAt} ms`)
    for (let i = 0; i < 5; i++) await p.publish()
    await checkEvery(t, rest, p.published, 'while the holder hangs')
    t.equal(p.streams.size, 2, 'the hung tab still has its connection')
    // Events reached the hung tab's connection meanwhile: awake, it passes them on late.
    await cdp.send('Debugger.resume')
    for (let i = 0; i < 5; i++) await p.publish()
    await checkEvery(t, tabs, p.published, 'after it wakes')
    await until(() => p.streams.size === 1, 'one stream: the woken tab let its own go')
    for (const { page } of tabs) t.same(page.errors, [], 'no script errors')
  })

  test('signed in, many topics: a tab joining with a new topic gets it; the others keep theirs, each note once', async (t) => {
    const p = await profile(t)
    const login = trackErrors(await p.context.newPage())
    await login.goto(p.base + '/notifications.html')
    await login.fill('#name', 'ann')
    await login.click('#login-form button')
    await waitInPage(login, () => document.body.dataset.user === 'ann', undefined, 'signed in')
    await waitInPage(login, () => document.querySelector('#connection').dataset.state === 'live', undefined, 'live')
    const [cookie] = await p.context.cookies()
    const note = (text) => p.post('/api/notifications', { to: 'ann', text }, { cookie: `${cookie.name}=${cookie.value}` })
    const inboxes = [login]
    for (let i = 0; i < 2; i++) {
      const page = trackErrors(await p.context.newPage())
      await page.goto(p.base + '/notifications.html')
      await waitInPage(page, () => document.querySelector('#connection').dataset.state === 'live', undefined, 'live')
      inboxes.push(page)
    }
    await until(() => p.streams.size === 1 && p.app.sse.metrics().subscribers === 1, 'one stream carrying the bell')
    const notesOf = (page) => page.$$eval('#notes li', (items) => items.map((li) => li.dataset.text))
    const sent = []
    for (const text of ['one', 'two']) await note(text).then(() => sent.push(text))
    for (const page of inboxes) await waitInPage(page, (n) => document.querySelectorAll('#notes li').length >= n, sent.length, 'the notes')

    // A dashboard tab asks for `dashboard` too: the stream moves to both topics, the bell keeps its place.
    const dashboard = await p.open()
    await note('three').then(() => sent.push('three'))
    await until(() => p.streams.size === 1 && p.app.sse.metrics().subscribers === 2, 'one stream carrying the bell and the dashboard')
    await p.publish()
    await note('four').then(() => sent.push('four'))
    await shown(dashboard, 1)
    t.same(await seqOf(dashboard), p.published, 'the joining tab gets its new topic')
    for (const page of inboxes) {
      await waitInPage(page, (n) => document.querySelectorAll('#notes li').length >= n, sent.length, 'every note')
      t.same(await notesOf(page), sent, 'every note once, in order, across the change of topics')
    }
    // It joined before the third note: the third and the fourth ring its bell.
    await waitInPage(dashboard, () => Number(document.querySelector('#bell')?.dataset.count) >= 2, undefined, 'the bell on the dashboard')
    t.equal(await dashboard.getAttribute('#bell', 'data-count'), '2', 'the notes since the tab joined, once each')
    t.equal(await dashboard.getAttribute('body', 'data-topics'), 'dashboard,bell')
    for (const page of [...inboxes, dashboard]) t.same(page.errors, [], 'no script errors')
  })

  test('without Web Locks (as on plain http:// to a LAN address) each tab has its own connection', async (t) => {
    const p = await profile(t)
    await p.context.addInitScript(() => { delete Navigator.prototype.locks })
    const tabs = []
    for (let i = 0; i < 3; i++) tabs.push({ page: await p.open(), from: p.published.length })
    t.equal(await tabs[0].page.evaluate(() => 'locks' in navigator), false, 'no navigator.locks')
    await until(() => p.streams.size === 3, 'three streams')
    for (let i = 0; i < 5; i++) await p.publish()
    await checkEvery(t, tabs, p.published, 'unshared')
    for (const { page } of tabs) t.same(page.errors, [], 'no script errors')
  })
}
