// Every process of the suite runs on one Node version: the test files that tap starts, the
// servers and publishers the tests start with process.execPath, and a plain `node` from PATH.
// `npm run test:node -- <version>` names the version it installed in SSE_TEST_NODE_VERSION.
import { test } from 'tap'
import { execFileSync } from 'node:child_process'

const versionOf = (command) => execFileSync(command, ['-p', 'process.version'], { encoding: 'utf8' }).trim()

test('the test file, its child processes and `node` on PATH are one version', async (t) => {
  const expected = process.env.SSE_TEST_NODE_VERSION
  if (expected !== undefined) t.equal(process.version, `v${expected}`, 'the version the runner was asked for')
  t.equal(versionOf(process.execPath), process.version, 'a child started with process.execPath')
  t.equal(versionOf('node'), process.version, '`node` on PATH')
})
