// Serves the pages and their modules from one directory, plus the package's browser client,
// so the demo needs no bundler and no static-file dependency.
import { readFile } from 'node:fs/promises'
import { dirname, extname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon'
}

// The built browser client, exactly what an application would bundle: it imports only its
// sibling that shares one connection across tabs, served beside it.
const CLIENT = fileURLToPath(import.meta.resolve('fastify-typed-sse/client'))
const CLIENT_SHARE = join(dirname(CLIENT), 'client-share.js')

export function serveStatic (app, root) {
  const base = resolve(root)
  const read = async (file) => {
    try {
      return await readFile(file)
    } catch (err) {
      if (err.code !== 'ENOENT' && err.code !== 'EISDIR') throw err
      return undefined
    }
  }
  // A person who mistypes an address gets a page with a way back; a script calling the API, JSON.
  const notFound = async (request, reply) => {
    if (request.url.startsWith('/api/')) return reply.code(404).send({ error: 'Not Found', message: `no route ${request.method} ${request.url}` })
    return reply.code(404).type(TYPES['.html']).header('cache-control', 'no-cache').send(await read(join(base, '404.html')))
  }
  const send = async (request, reply, file) => {
    const type = TYPES[extname(file)]
    const body = type === undefined ? undefined : await read(file)
    if (body === undefined) return notFound(request, reply)
    // no-cache, not no-store: the browser revalidates, so an edited page shows on reload.
    return reply.type(type).header('cache-control', 'no-cache').send(body)
  }

  app.get('/vendor/fastify-typed-sse/client.js', (request, reply) => send(request, reply, CLIENT))
  app.get('/vendor/fastify-typed-sse/client-share.js', (request, reply) => send(request, reply, CLIENT_SHARE))
  // The pages name their icon; this is for what a browser asks by itself (a JSON response opened in a tab).
  app.get('/favicon.ico', (request, reply) => reply.redirect('/favicon.svg', 301))
  app.get('/*', (request, reply) => {
    // The router has already percent-decoded the path.
    const path = request.params['*'] || 'index.html'
    const file = resolve(join(base, path))
    // resolve() has folded any `..`: anything outside the root is refused.
    if (path.includes('\0') || !file.startsWith(base + sep)) return notFound(request, reply)
    return send(request, reply, file)
  })
  app.setNotFoundHandler(notFound)
}
