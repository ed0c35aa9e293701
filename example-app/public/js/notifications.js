// Per-user notifications over the browser's own EventSource. The page never says whose
// stream it wants: the server derives it from the session cookie (sent with the request, as
// for any same-origin request), so the page cannot ask for someone else's.
import { api, el, setBadge, showInstance } from './common.js'

const $ = (id) => document.getElementById(id)
let source = null

async function main () {
  const { signedIn, user } = await api('/api/session')
  $('login').hidden = signedIn
  $('inbox').hidden = !signedIn
  if (signedIn) open(user)
  else $('name').focus()
}

function open (user) {
  $('user').textContent = user
  document.body.dataset.user = user
  source = new EventSource('/api/notifications/stream')
  source.addEventListener('open', () => setBadge($('connection'), 'live'))
  source.addEventListener('error', () => setBadge($('connection'), source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'))
  source.addEventListener('note', (message) => {
    const note = JSON.parse(message.data)
    $('empty').hidden = true
    $('notes').append(el('li', { 'data-id': message.lastEventId, 'data-from': note.from, 'data-text': note.text },
      el('span', { class: 'from' }, note.from), note.text,
      el('span', { class: 'muted' }, ` · ${new Date(note.at).toLocaleTimeString()}`)))
  })
  // Only after a long absence: the notes in between are gone from the replay buffer.
  source.addEventListener('reset', (message) => {
    const { reason } = JSON.parse(message.data)
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
