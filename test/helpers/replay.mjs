// Shared pieces of the replay tests: a store wrapper that counts calls (and can be told to
// fail), an app with one declared stream, and the per-client invariant.
import http from 'node:http'
import Fastify from 'fastify'
import { EventStreamDecoder } from 'fastify-typed-sse/testing'
import sse, { memoryStore, parseEventId } from 'fastify-typed-sse'

export function spyStore (inner = memoryStore()) {
  const calls = { append: 0, readAfter: 0, head: 0, subscribe: 0, close: 0, liveOpen: 0 }
  const failing = new Set()
  const wrap = (name, fn) => async (...args) => {
    calls[name]++
    if (failing.has(name)) throw new Error(`store ${name} failed (test)`)
    return fn(...args)
  }
  const store = {
    capabilities: inner.capabilities,
    calls,
    failing,
    inner,
    append: wrap('append', (...a) => inner.append(...a)),
    readAfter: wrap('readAfter', (...a) => inner.readAfter(...a)),
    head: wrap('head', (...a) => inner.head(...a)),
    subscribe: wrap('subscribe', async (...a) => {
      const live = await inner.subscribe(...a)
      calls.liveOpen++
      const close = live.close.bind(live)
      live.close = async () => { calls.liveOpen--; return close() }
      return live
    }),
    close: wrap('close', () => inner.close())
  }
  return store
}

/** An app with stream `s` (options as given) served on GET /s. */
export async function replayApp (t, { store, stream = {}, plugin = {}, subscribe = {} } = {}) {
  const app = Fastify()
  await app.register(sse, { store, ...plugin })
  const s = app.sse.stream('s', stream)
  app.get('/s', (request, reply) => reply.sse.subscribe(s, subscribe))
  t.teardown(() => app.close())
  await app.ready()
  return { app, s }
}

export function epochOf (id) {
  return parseEventId(id).epoch
}

/**
 * The universal invariant for one client across its reconnects, given what it received in
 * order (events and reset notices, each with the id in force): ids strictly increase within
 * an epoch and never repeat, and between two received events every offset is present unless a
 * reset notice sits between them.
 */
export function checkInvariant (t, received, label) {
  let prev = null
  const seen = new Set()
  let problems = 0
  for (const item of received) {
    if (item.type === 'reset') {
      prev = null
      continue
    }
    const pos = parseEventId(item.lastEventId)
    if (pos === undefined) { problems++; t.fail(`${label}: malformed id ${item.lastEventId}`); continue }
    if (seen.has(item.lastEventId)) { problems++; t.fail(`${label}: id ${item.lastEventId} repeated`) }
    seen.add(item.lastEventId)
    if (prev !== null) {
      if (pos.epoch !== prev.epoch) { problems++; t.fail(`${label}: epoch changed without a reset notice`) } else if (pos.offset !== prev.offset + 1) {
        problems++
        t.fail(`${label}: ${prev.offset} then ${pos.offset} without a reset notice`)
      }
    }
    prev = pos
  }
  return problems
}

/**
 * A minimal SSE client over a real socket: records every event (with the id in force) and
 * can be dropped at any point. `lastEventId` is what a browser would send on reconnect.
 */
export function sseClient (port, path = '/s', lastEventId) {
  return new Promise((resolve, reject) => {
    const headers = lastEventId ? { 'last-event-id': lastEventId } : {}
    const client = { events: [], lastEventId: lastEventId ?? '', socket: null, ended: false, waiters: [] }
    const decoder = new EventStreamDecoder({
      onEvent: (event) => {
        client.events.push(event)
        for (const w of client.waiters.splice(0)) w()
      }
    })
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      client.socket = res.socket
      client.status = res.statusCode
      res.on('data', (chunk) => {
        decoder.push(chunk)
        // A fresh decoder starts without an id; a browser keeps its last one across reconnects.
        if (decoder.lastEventId !== '') client.lastEventId = decoder.lastEventId
      })
      res.on('close', () => {
        client.ended = true
        for (const w of client.waiters.splice(0)) w()
      })
      resolve(client)
    })
    req.on('error', reject)
    client.until = (predicate, ms = 3000) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`client wait timed out with ${client.events.length} events`)), ms)
      const check = () => {
        if (predicate(client)) { clearTimeout(timer); resolve(client) } else if (client.ended) { clearTimeout(timer); reject(new Error('stream ended')) } else client.waiters.push(check)
      }
      check()
    })
    client.close = () => { client.socket?.destroy(); req.destroy() }
  })
}
