/**
 * Fails `t` on any unhandled rejection or uncaught exception while it runs: a store or a
 * stream that lets an error escape has lost it, whatever the test's own assertions say.
 */
export function failOnEscapes (t) {
  const fail = (err) => t.fail(`unexpected ${err?.stack ?? err}`)
  process.on('unhandledRejection', fail)
  process.on('uncaughtException', fail)
  t.teardown(() => {
    process.off('unhandledRejection', fail)
    process.off('uncaughtException', fail)
  })
}
