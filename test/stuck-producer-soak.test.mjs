// A producer stuck forever on a promise that never settles must not keep its response alive
// after the client left. The soak runs in a child process started with --expose-gc, so what
// survives is measured after real full collections.
import { test } from 'tap'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const script = fileURLToPath(new URL('./helpers/stuck-soak.mjs', import.meta.url))
const CYCLES = 1000

function soak () {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', script, String(CYCLES)], { timeout: 110_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`soak failed: ${err.message}\n${stderr}`))
      else resolve(JSON.parse(stdout.trim().split('\n').pop()))
    })
  })
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
