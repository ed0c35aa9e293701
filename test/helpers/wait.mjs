/**
 * The suite's one polling helper: resolves with the first truthy value of `check` (sync or
 * async), and fails with `what` after `ms`. A hang guard, not a speed check: tests wait on a
 * state or an event through it, never for a duration. Polls often at first, then less, so a
 * check that costs a round trip (a Redis command, a page evaluation) does not flood.
 */
export async function until (check, what, ms = 10_000) {
  const deadline = Date.now() + ms
  let pause = 2
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, pause))
    pause = Math.min(pause * 2, 50)
  }
}
