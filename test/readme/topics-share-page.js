import { createTopicsClient } from '/vendor/fastify-typed-sse/client.js'

// One connection for every tab of this origin, carrying the topics all of them ask for;
// each tab gets the events of its own topics only.
const page = createTopicsClient('/events', { topics: ['dashboard', 'bell'], share: true })
page.on('dashboard', 'stats', (data) => {
  document.querySelector('#orders').textContent = String(data.orders)
})
page.on('bell', 'notification', (data) => {
  document.querySelector('#bell').append(`${data.text}\n`)
})
