import { createTopicsClient } from 'fastify-typed-sse/client'
import type { bellEvents, dashboardEvents } from './topics-server.mjs'

type PageTopics = { dashboard: typeof dashboardEvents, bell: typeof bellEvents }

export function watchPage (url: string, show: (line: string) => void) {
  const client = createTopicsClient<PageTopics>(url, { topics: ['dashboard', 'bell'] })
  client.on('dashboard', 'stats', (data) => show(`${data.orders} orders`))
  client.on('bell', 'notification', (data) => show(`bell: ${data.text}`))
  client.onReset('bell', (notice) => show(`bell reset: ${notice.reason}`))
  return client
}
