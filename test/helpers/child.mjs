import { execFile } from 'node:child_process'

/**
 * Runs this Node binary with `args` (flags, then a script or `-e` code) and resolves with the
 * JSON its last line of output holds: how the tests that need their own process (a small heap,
 * --expose-gc, natives syntax) report back. Rejects with the child's first lines of stderr.
 */
export function runNodeForJson (args, { timeout, cwd } = {}) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd, timeout }, (err, stdout, stderr) => {
      if (err) reject(new Error(`child failed (${err.code ?? err.signal}): ${stderr.split('\n').slice(0, 5).join('\n')}`))
      else resolve(JSON.parse(stdout.trim().split('\n').pop()))
    })
  })
}
