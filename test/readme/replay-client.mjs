// In the browser. The server resumes a reconnecting EventSource by itself; a `reset` event
// means what was missed cannot be replayed, so reload the state from the API.
export function watchOrders (url, { onOrder, reload }) {
  const source = new EventSource(url)
  source.addEventListener('order', (event) => onOrder(JSON.parse(event.data)))
  source.addEventListener('reset', (event) => {
    const { reason } = JSON.parse(event.data)
    reload(reason)
  })
  return source
}
