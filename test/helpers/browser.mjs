// Shared pieces of the browser tests: Debian's Chromium driven by playwright-core (nothing
// downloads a browser), the example app on a loopback port with a way to cut its
// connections, bounded waits, and screenshots that are checked for actually showing a page.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inflateSync } from 'node:zlib'
import { chromium } from 'playwright-core'
import { buildApp } from '../../example-app/app.mjs'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-artifacts', 'browser')

/**
 * Launches Chromium for a test file, closed at its end. Without the executable the file
 * fails on CI and is skipped, loudly, elsewhere: returns null and the caller must stop.
 */
export async function launchBrowser (t) {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI === 'true') {
      t.fail(`${CHROMIUM} is missing: CI must install chromium (.ci/run does)`)
    } else {
      console.warn(`\n*** WARNING: ${CHROMIUM} is missing; SKIPPING the browser tests (install Debian's chromium) ***\n`)
      t.pass(`skipped: ${CHROMIUM} is missing`, { skip: true })
    }
    return null
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 20_000
  })
  t.teardown(() => browser.close())
  return browser
}

/**
 * Starts the example app on 127.0.0.1, port 0. `drop()` destroys the sockets of every open
 * event stream, server side, the way a network failure or a restarting proxy would end them
 * (other connections, such as the test's own requests, are left alone).
 */
export async function startApp (t, options = {}) {
  const app = await buildApp({ logger: false, publishIntervalMs: 0, retryMs: 200, tokenDelayMs: 5, ...options })
  const streams = new Set()
  app.server.on('request', (request) => {
    if (!String(request.headers.accept).includes('text/event-stream')) return
    const socket = request.socket
    streams.add(socket)
    socket.once('close', () => streams.delete(socket))
  })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${app.server.address().port}`
  return {
    app,
    base,
    drop () {
      for (const socket of streams) socket.destroy()
    },
    async post (path, body, headers = {}) {
      const response = await fetch(base + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body)
      })
      const payload = await response.json()
      if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${JSON.stringify(payload)}`)
      return payload
    },
    async get (path) {
      const response = await fetch(base + path)
      return { status: response.status, body: await response.json() }
    }
  }
}

/** Collects the page's uncaught script errors in `page.errors`, for a test to check at its end. */
export function trackErrors (page) {
  page.errors = []
  page.on('pageerror', (err) => page.errors.push(err.message))
  return page
}

/** Waits for a DOM condition inside the page, with a readable failure. */
export async function waitInPage (page, fn, arg, what, ms = 10_000) {
  try {
    await page.waitForFunction(fn, arg, { timeout: ms, polling: 25 })
  } catch (err) {
    throw new Error(`timed out after ${ms} ms waiting in ${page.url()} for ${what}`, { cause: err })
  }
}

/**
 * Takes a screenshot into test-artifacts/browser/<name>.png and checks that it shows a page
 * rather than a blank or single-colour surface.
 */
export async function screenshot (t, page, name) {
  const png = await page.screenshot({ fullPage: false })
  mkdirSync(ARTIFACTS, { recursive: true })
  writeFileSync(join(ARTIFACTS, `${name}.png`), png)
  const viewport = page.viewportSize()
  const stats = pngStats(png)
  t.same([stats.width, stats.height], [viewport.width, viewport.height], `${name}: screenshot has the viewport's size`)
  // A rendered page has text and boxes: a good share of pixels off the background, many colours.
  t.ok(stats.foreground > 0.02, `${name}: ${(stats.foreground * 100).toFixed(1)}% of pixels differ from the background`)
  t.ok(stats.colours > 50, `${name}: ${stats.colours} distinct colours`)
  return stats
}

/**
 * Decodes an 8-bit, non-interlaced PNG (what Chromium writes) far enough to measure it:
 * size, the share of pixels that differ from the most common colour, and distinct colours.
 */
export function pngStats (png) {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG')
  let offset = 8
  let header
  const idat = []
  while (offset < png.length) {
    const length = png.readUInt32BE(offset)
    const type = png.toString('latin1', offset + 4, offset + 8)
    const data = png.subarray(offset + 8, offset + 8 + length)
    if (type === 'IHDR') {
      header = { width: data.readUInt32BE(0), height: data.readUInt32BE(4), depth: data[8], colour: data[9], interlace: data[12] }
    } else if (type === 'IDAT') {
      idat.push(data)
    }
    offset += 12 + length
  }
  const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[header.colour]
  if (header.depth !== 8 || channels === undefined || header.interlace !== 0) {
    throw new Error(`unsupported PNG: depth ${header.depth}, colour type ${header.colour}, interlace ${header.interlace}`)
  }
  const { width, height } = header
  const raw = inflateSync(Buffer.concat(idat))
  const stride = width * channels
  const pixels = Buffer.alloc(stride * height)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1))
    const out = y * stride
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[out + x - channels] : 0
      const b = y > 0 ? pixels[out - stride + x] : 0
      const c = x >= channels && y > 0 ? pixels[out - stride + x - channels] : 0
      let value = line[x]
      if (filter === 1) value += a
      else if (filter === 2) value += b
      else if (filter === 3) value += (a + b) >> 1
      else if (filter === 4) {
        const p = a + b - c
        const pa = Math.abs(p - a)
        const pb = Math.abs(p - b)
        const pc = Math.abs(p - c)
        value += pa <= pb && pa <= pc ? a : pb <= pc ? b : c
      }
      pixels[out + x] = value & 0xff
    }
  }
  const counts = new Map()
  for (let i = 0; i < pixels.length; i += channels) {
    let key = 0
    for (let k = 0; k < channels; k++) key = key * 256 + pixels[i + k]
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  const background = Math.max(...counts.values())
  return { width, height, colours: counts.size, foreground: 1 - background / (width * height) }
}
