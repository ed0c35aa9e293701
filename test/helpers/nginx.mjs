// A real nginx per test file: Debian's binary, in the foreground as one process, on a free
// loopback port, with its own config and a temporary prefix (no system config is read).
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './redis-server.mjs'
import { until } from './wait.mjs'

export const NGINX = '/usr/sbin/nginx'

/** Without nginx the file fails on CI and is skipped, loudly, elsewhere. False when the caller must stop. */
export function requireNginx (t) {
  if (existsSync(NGINX)) return true
  if (process.env.CI === 'true') t.fail(`${NGINX} is missing: CI must install nginx (.ci/run does)`)
  else {
    console.warn(`\n*** WARNING: ${NGINX} is missing; SKIPPING the nginx tests ***\n`)
    t.pass('skipped: nginx is not installed', { skip: true })
  }
  return false
}

/** Starts nginx with `http` as the body of its http block; `{ port, url(path), log() }`. */
export async function startNginx (t, http) {
  const dir = mkdtempSync(join(tmpdir(), 'sse-nginx-'))
  const port = await freePort()
  const conf = join(dir, 'nginx.conf')
  writeFileSync(conf, `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  ${http.replaceAll('LISTEN', `listen 127.0.0.1:${port}`)}
}
`)
  const child = spawn(NGINX, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk) => { stderr += chunk })
  const exited = new Promise((resolve) => child.on('exit', resolve))
  t.teardown(async () => {
    child.kill('SIGTERM')
    await exited
    rmSync(dir, { recursive: true, force: true })
  })
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}${readLog(dir)}`)
    return canConnect(port)
  }, 'nginx to listen').catch((err) => { throw new Error(`${err.message}: ${stderr}${readLog(dir)}`) })
  return { port, url: (path) => `http://127.0.0.1:${port}${path}`, log: () => readLog(dir) }
}

function readLog (dir) {
  try {
    return readFileSync(join(dir, 'error.log'), 'utf8')
  } catch {
    return ''
  }
}

function canConnect (port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.on('connect', () => { socket.destroy(); resolve(true) })
    socket.on('error', () => resolve(false))
  })
}
