import { createSseClient } from '/vendor/fastify-typed-sse/client.js'

// Every tab of this origin that opens /feed with `share` is fed by one connection.
const feed = createSseClient('/feed', { share: true })
feed.on('tick', (data, message) => {
  document.querySelector('#ticks').append(`${message.lastEventId} ${data.n}\n`)
})
