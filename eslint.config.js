import neostandard, { resolveIgnoresFromGitignore } from 'neostandard'

// The style of the Fastify ecosystem, over TypeScript and JavaScript alike. What .gitignore
// names (build output, installed packages, test artifacts, the Node builds of the version
// matrix) is not ours to lint.
export default [
  ...neostandard({ ts: true, ignores: resolveIgnoresFromGitignore() }),
  {
    // Code that runs in the browser: the example app's pages and the README's client snippet.
    files: ['example-app/public/**/*.js', 'test/readme/replay-client.mjs', 'test/readme/topics-share-*.js'],
    languageOptions: { globals: { EventSource: 'readonly', location: 'readonly', document: 'readonly' } }
  },
  {
    // docs/topics.md's plain page snippet: the page's own functions are the test's to supply.
    files: ['test/readme/topics-page.js'],
    languageOptions: { globals: { EventSource: 'readonly', showStats: 'readonly', ring: 'readonly', reloadBell: 'readonly' } }
  }
]
