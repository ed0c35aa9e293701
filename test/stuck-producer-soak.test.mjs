// A producer stuck forever on a promise that never settles must not keep its response alive
// after the client left. The soak runs in a child process started with --expose-gc, so what
// survives is measured after real full collections.
import { test } from 'tap'
import { runNodeForJson } from './helpers/child.mjs'
import { fileURLToPath } from 'node:url'

const script = fileURLToPath(new URL('./helpers/stuck-soak.mjs', import.meta.url))
const CYCLES = 1000

function soak () {
  return runNodeForJson(['--expose-gc', script, String(CYCLES)], { timeout: 110_000 })
}

test(`${CYCLES} connect/disconnect cycles against producers that never settle leave no response behind`, async (t) => {
  const result = await soak()
  t.equal(result.openStreams, 0, 'every stream ended')
  const baseline = result['/baseline'].bytesPerCycle
  for (const path of ['/function', '/iterator']) {
    const { bytesPerCycle, responses, requests } = result[path]
    t.equal(responses, 0, `${path}: no ServerResponse survives a collection`)
    t.equal(requests, 0, `${path}: no IncomingMessage survives a collection`)
    // What is left is the producer's own suspended frame and what it was handed (its signal
    // and context): a few KB at most, against 8 KB and more while the response was pinned.
    t.ok(bytesPerCycle <= baseline + 4096, `${path}: ${bytesPerCycle} bytes of heap per cycle (the bare stuck generator: ${baseline})`)
  }
})
