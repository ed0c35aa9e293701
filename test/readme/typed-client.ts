import { createSseClient } from 'fastify-typed-sse/client'
import type { jobEvents } from './typed-route.js'

export function watchJob (url: string, show: (line: string) => void) {
  const client = createSseClient<typeof jobEvents>(url)
  client.on('progress', (data) => show(`${data.step}: ${data.percent}%`))
  client.on('done', (data) => {
    show(data.ok ? 'done' : 'failed')
    client.close()
  })
  return client
}
