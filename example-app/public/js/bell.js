// The page's one event stream, and the signed-in user's notification bell in its header.
// `pageStream(['dashboard'])` asks /api/events for the page's own topics plus, for a signed-in
// user, the `bell` topic: every feed of the page arrives on one connection, each resumed on its
// own after a drop. The bell is one more topic of that stream, not a connection of its own.
import { createTopicsClient } from '/vendor/fastify-typed-sse/client.js'
import { api, el } from './common.js'

const MAX_SHOWN = 20

export async function pageStream (topics, query = '') {
  let user = null
  try {
    user = (await api('/api/session')).user
  } catch (err) {
    if (err.status !== 401) throw err
  }
  const asked = user === null ? topics : [...topics, 'bell']
  if (asked.length === 0) return { client: null, user }
  // Shared: every tab of the app in this browser is fed by one connection, which carries the
  // topics all of them ask for (see docs/topics.md). `dashboardFrom` only places the dashboard
  // for the tab that opens it.
  const client = createTopicsClient(`/api/events${query}`, { topics: asked, share: { positionParams: ['dashboardFrom'] } })
  document.body.dataset.topics = asked.join(',')
  if (user !== null) mountBell(client, user)
  return { client, user }
}

function mountBell (client, user) {
  const count = el('span', { class: 'count' }, '0')
  const list = el('ul', { class: 'bell-list notes', hidden: true }, el('li', { class: 'muted' }, 'No notifications yet.'))
  const button = el('button', { class: 'bell secondary', id: 'bell', type: 'button', title: `${user}'s notifications`, 'data-count': '0' }, 'Notifications ', count)
  button.addEventListener('click', () => { list.hidden = !list.hidden })
  const header = document.querySelector('header')
  header.insertBefore(el('span', { class: 'bell-wrap' }, button, list), document.getElementById('instance'))
  let unread = 0
  client.on('bell', 'note', (note, message) => {
    unread++
    count.textContent = String(unread)
    button.dataset.count = String(unread)
    list.querySelector('li.muted')?.remove()
    list.prepend(el('li', { 'data-id': message.position, 'data-from': note.from, 'data-text': note.text },
      el('span', { class: 'from' }, note.from), note.text))
    while (list.childElementCount > MAX_SHOWN) list.lastElementChild.remove()
  })
  // Only after a long absence: the notes in between are gone from the replay buffer.
  client.onReset('bell', ({ reason }) => { button.dataset.reset = reason })
}
