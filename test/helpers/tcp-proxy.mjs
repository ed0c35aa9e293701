// A loopback TCP proxy in front of redis-server that can cut, stall or drop traffic without
// touching the server, to stage network faults between the store and Redis.
import { once } from 'node:events'
import net from 'node:net'

export async function startProxy (targetPort) {
  const pairs = new Set()
  let stalled = false
  /** One-shot rules, checked in order. */
  const dropRules = [] // server -> client chunks to swallow: { match, resolve }
  const cutRules = [] // { match, resolve }: forward the request, swallow its reply, cut the pair

  const server = net.createServer((downstream) => {
    const upstream = net.connect(targetPort, '127.0.0.1')
    const pair = { downstream, upstream, held: [], cutOnReply: undefined }
    pairs.add(pair)
    const end = () => {
      pairs.delete(pair)
      downstream.destroy()
      upstream.destroy()
    }
    downstream.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
    downstream.on('data', (chunk) => {
      const text = chunk.toString('latin1')
      const rule = cutRules.findIndex((r) => text.includes(r.match))
      if (rule >= 0) {
        pair.cutOnReply = cutRules.splice(rule, 1)[0]
      }
      if (stalled) pair.held.push(['up', chunk])
      else upstream.write(chunk)
    })
    upstream.on('data', (chunk) => {
      if (pair.cutOnReply !== undefined) {
        const rule = pair.cutOnReply
        pair.cutOnReply = undefined
        end()
        rule.resolve()
        return
      }
      const text = chunk.toString('latin1')
      const rule = dropRules.findIndex((r) => text.includes(r.match))
      if (rule >= 0) {
        dropRules.splice(rule, 1)[0].resolve()
        return
      }
      if (stalled) pair.held.push(['down', chunk])
      else downstream.write(chunk)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')

  return {
    port: server.address().port,
    get connections () { return pairs.size },
    /** Severs every connection (both ends see a reset/close). */
    cutAll () {
      for (const pair of [...pairs]) { pair.downstream.destroy(); pair.upstream.destroy() }
    },
    /** Holds all traffic until `resume()`: a half-dead network, not a closed one. */
    stall () { stalled = true },
    resume () {
      stalled = false
      for (const pair of pairs) {
        for (const [direction, chunk] of pair.held.splice(0)) {
          if (direction === 'up') pair.upstream.write(chunk)
          else pair.downstream.write(chunk)
        }
      }
    },
    /** Swallows the next server-to-client chunk containing `match`; resolves when it happened. */
    dropReplyContaining (match) {
      return new Promise((resolve) => dropRules.push({ match, resolve }))
    },
    /** Forwards the next request containing `match`, then cuts that connection instead of passing its reply back. */
    cutAfterRequestContaining (match) {
      return new Promise((resolve) => cutRules.push({ match, resolve }))
    },
    async close () {
      this.cutAll()
      server.close()
      await once(server, 'close')
    }
  }
}
