// Ten tabs of the example app's dashboard in one Chromium profile over HTTP/1.1, with the
// client's `share` (one connection for the profile) and without it (Web Locks removed, as on
// plain http:// to a LAN address: a connection per tab). Reports, for each, how many tabs
// loaded and went live, the server's open event streams and sockets, and what the open tabs
// hold of its heap (after a full GC, with the tabs open and once the browser has closed them);
// then, sharing, the time from closing the tab that holds the connection to an event published
// right after reaching every other tab.
// Usage: node --expose-gc bench/shared-tabs.mjs [tabs=10] [handovers=5]
import { chromium } from 'playwright-core'
import { buildApp } from '../example-app/app.mjs'

const [TABS = 10, HANDOVERS = 5] = process.argv.slice(2).map(Number)
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc')

const heap = () => {
  globalThis.gc()
  globalThis.gc()
  return process.memoryUsage().heapUsed
}
const kb = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`

async function run (share) {
  const app = await buildApp({ logger: false, publishIntervalMs: 0, retryMs: 200 })
  const sockets = new Set()
  const streams = new Set()
  app.server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  app.server.on('request', (request) => {
    if (!request.url.startsWith('/api/events')) return
    streams.add(request.socket)
    request.socket.once('close', () => streams.delete(request.socket))
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${app.server.address().port}`
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless=new', '--no-sandbox', '--disable-gpu'] })
  const context = await browser.newContext()
  if (!share) await context.addInitScript(() => { delete Navigator.prototype.locks })
  let holder = null
  context.on('request', (request) => { if (request.url().includes('/api/events')) holder = request.frame().page() })
  const pages = []
  let live = 0
  for (let i = 0; i < TABS; i++) {
    const page = await context.newPage()
    pages.push(page)
    try {
      // A tab that cannot get a connection for its HTML within 5 s counts as not loaded.
      await page.goto(base + '/dashboard.html', { timeout: 5000 })
      await page.waitForFunction(() => document.querySelector('#connection')?.dataset.state === 'live', undefined, { timeout: 5000 })
      live++
    } catch {}
  }
  const open = heap()
  const counts = `${live}/${TABS} tabs live, ${streams.size} event streams, ${sockets.size} sockets, ${app.sse.metrics().subscribers} subscribers`
  const times = []
  if (share) {
    for (let n = 0; n < HANDOVERS && pages.length > 1; n++) {
      const leader = holder
      pages.splice(pages.indexOf(leader), 1)
      const count = await pages[0].$$eval('#log li', (items) => items.length)
      const closedAt = performance.now()
      await leader.close({ runBeforeUnload: false })
      await app.inject({ method: 'POST', url: '/api/dashboard/events', payload: { event: 'metric', data: { name: 'seq', value: n } } })
      await Promise.all(pages.map((page) => page.waitForFunction((c) => document.querySelectorAll('#log li').length > c, count, { polling: 5 })))
      times.push(performance.now() - closedAt)
    }
  }
  await browser.close()
  while (sockets.size > 0) await new Promise((resolve) => setTimeout(resolve, 50))
  const line = `${share ? 'shared  ' : 'per tab '}: ${counts}; the tabs held ${kb(open - heap())} of server heap`
  await app.close()
  return { line, times }
}

const shared = await run(true)
const perTab = await run(false)
console.log(perTab.line)
console.log(shared.line)
const sorted = [...shared.times].sort((a, b) => a - b)
console.log(`close of the holding tab → next event in every other tab: ${sorted.map((t) => t.toFixed(0)).join(', ')} ms (median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms)`)
