// A deliberately small login: the cookie holds the user name and an HMAC of it, so any
// instance that shares the secret (SESSION_SECRET) accepts it without a session table.
// There are no passwords: this is a demo of per-user streams, not of authentication.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

const COOKIE = 'sid'
const NAME = /^[a-z][a-z0-9_-]{0,31}$/

export function sessions (secret = randomBytes(32)) {
  const sign = (name) => createHmac('sha256', secret).update(name).digest('base64url')

  /** The user named by the request's cookie, or undefined when it is absent or forged. */
  function userOf (request) {
    const value = readCookie(request.headers.cookie, COOKIE)
    if (value === undefined) return undefined
    const dot = value.lastIndexOf('.')
    const name = value.slice(0, dot)
    if (dot < 1 || !NAME.test(name)) return undefined
    const given = Buffer.from(value.slice(dot + 1))
    const expected = Buffer.from(sign(name))
    return given.length === expected.length && timingSafeEqual(given, expected) ? name : undefined
  }

  return {
    userOf,
    /** preHandler: 401 unless logged in, so no stream or side effect starts for a stranger. */
    async requireUser (request, reply) {
      const user = userOf(request)
      if (user === undefined) return reply.code(401).send({ error: 'Unauthorized', message: 'log in first' })
      request.user = user
    },
    /** preHandler: the user when logged in, else null; never refuses (each topic authorizes on its own). */
    async identify (request) {
      request.user = userOf(request) ?? null
    },
    login (reply, name) {
      reply.header('set-cookie', `${COOKIE}=${name}.${sign(name)}; Path=/; HttpOnly; SameSite=Lax`)
    },
    logout (reply) {
      reply.header('set-cookie', `${COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`)
    }
  }
}

function readCookie (header, name) {
  if (typeof header !== 'string') return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}
