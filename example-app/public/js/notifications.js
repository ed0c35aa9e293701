// Per-user notifications. The page never says whose notes it wants: the server derives the
// inbox from the session cookie (sent with the request, as for any same-origin request), so
// the page cannot ask for someone else's. They arrive as the `bell` topic of the page's one
// event stream, the same one that feeds the header's bell.
import { api, el, setBadge, showInstance } from './common.js'
import { pageStream } from './bell.js'

const $ = (id) => document.getElementById(id)
let source = null

async function main () {
  const { client, user } = await pageStream([])
  $('login').hidden = user !== null
  $('inbox').hidden = user === null
  if (user !== null) open(client, user)
  else $('name').focus()
}

function open (client, user) {
  $('user').textContent = user
  document.body.dataset.user = user
  source = client.source
  source.addEventListener('open', () => setBadge($('connection'), 'live'))
  source.addEventListener('error', () => setBadge($('connection'), source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'))
  client.on('bell', 'note', (note, message) => {
    $('empty').hidden = true
    $('notes').append(el('li', { 'data-id': message.position, 'data-from': note.from, 'data-text': note.text },
      el('span', { class: 'from' }, note.from), note.text,
      el('span', { class: 'muted' }, ` · ${new Date(note.at).toLocaleTimeString()}`)))
  })
  // Only after a long absence: the notes in between are gone from the replay buffer.
  client.onReset('bell', ({ reason }) => {
    $('notice').hidden = false
    $('notice').dataset.reason = reason
    $('notice').textContent = `Some notifications could not be replayed (${reason}).`
  })
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  await api('/api/session', { method: 'POST', body: { name: $('name').value } })
  location.reload()
})

$('logout').addEventListener('click', async () => {
  source?.close()
  await api('/api/session', { method: 'DELETE' })
  location.reload()
})

$('send-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  const to = $('to').value
  $('sent').textContent = ''
  try {
    await api('/api/notifications', { method: 'POST', body: { to, text: $('text').value } })
    $('text').value = ''
    $('sent').className = 'sent'
    $('sent').textContent = `Sent to ${to} at ${new Date().toLocaleTimeString()}.`
  } catch (err) {
    $('sent').className = 'failed'
    $('sent').textContent = `Could not send to ${to}: ${err.message}`
  }
})

showInstance()
main()
