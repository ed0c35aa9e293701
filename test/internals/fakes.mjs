// What the internals are driven with: a response that records what it is given and lets the
// test decide when the client reads, and a clock that moves only when the test moves it.
import { EventEmitter } from 'node:events'

/**
 * A minimal writable standing in for http.ServerResponse. `highWaterMark` is the queue length
 * past which write() says "no more" (like a socket's); the client reads with take(), which
 * emits 'drain' once a refused queue is empty, as a socket does. The client leaves with gone().
 */
export class FakeResponse extends EventEmitter {
  constructor ({ highWaterMark = Infinity } = {}) {
    super()
    this.highWaterMark = highWaterMark
    this.chunks = []
    this.writableLength = 0
    this.destroyed = false
    this.ended = false
    this.needDrain = false
  }

  write (chunk) {
    if (this.destroyed || this.ended) throw new Error('write after the response ended')
    this.chunks.push(chunk)
    this.writableLength += chunk.length
    if (this.writableLength >= this.highWaterMark) this.needDrain = true
    return !this.needDrain
  }

  end () {
    this.ended = true
    this.emit('close')
  }

  destroy () {
    if (this.destroyed) return
    this.destroyed = true
    this.emit('close')
  }

  /** The client reads `n` characters of what is queued (all of it by default). */
  take (n = Infinity) {
    this.writableLength = Math.max(0, this.writableLength - n)
    if (this.writableLength === 0 && this.needDrain) {
      this.needDrain = false
      this.emit('drain')
    }
  }

  /** The client goes away. */
  gone () {
    this.destroy()
  }

  /** Everything written so far. */
  get text () {
    return this.chunks.join('')
  }

  /** Heartbeat comments written so far. */
  get heartbeats () {
    return this.text.split(':\n\n').length - 1
  }
}

/** Monotonic milliseconds that advance only through advance(). */
export function fakeClock (start = 1000) {
  const clock = {
    t: start,
    now: () => clock.t,
    advance (ms) { clock.t += ms; return clock.t }
  }
  return clock
}

/**
 * A stand-in for the registry's setInterval: records the period and whether it runs; the
 * test calls fire() where a real timer would have fired.
 */
export function manualTimer () {
  const timer = {
    running: false,
    periodMs: undefined,
    started: 0,
    tick: null,
    every (periodMs, tick) {
      timer.running = true
      timer.periodMs = periodMs
      timer.started++
      timer.tick = tick
      return () => { timer.running = false; timer.tick = null }
    },
    fire () {
      if (!timer.running) throw new Error('the timer is not running')
      timer.tick()
    }
  }
  return timer
}

/** Resolves after the end-of-tick flush a write schedules (process.nextTick), not after a duration. */
export const flushed = () => new Promise((resolve) => process.nextTick(resolve))

/** Resolves once every pending promise reaction and tick has run (one macrotask turn). */
export const settled = () => new Promise((resolve) => setImmediate(resolve))

/** A promise with its resolve and reject exposed. */
export function deferred () {
  let resolve, reject
  const promise = new Promise((_resolve, _reject) => { resolve = _resolve; reject = _reject })
  return { promise, resolve, reject }
}
