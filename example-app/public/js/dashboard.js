// Live dashboard. The page loads a snapshot together with the stream position it was taken
// at and subscribes from that position, so nothing falls in between. Its event stream carries
// the dashboard and the signed-in user's bell as two topics of one connection. After a drop
// the browser's EventSource resumes both on its own with Last-Event-ID; when the server cannot
// replay the dashboard (a `dashboard.reset` notice) the page reloads the snapshot. Updates are idempotent (set a value, add an
// alert by id), so an event both in a snapshot and on the stream changes nothing.
import { api, el, setBadge, showInstance } from './common.js'
import { pageStream } from './bell.js'

const $ = (id) => document.getElementById(id)
const MAX_LOG = 500
let state = null
// While a snapshot is loading, live events wait here and are applied on top of it.
let held = null
let opens = 0
let resets = 0

function apply ({ event, data }) {
  if (event === 'metric') state.metrics[data.name] = { value: data.value, at: data.at }
  else if (event === 'status') state.services[data.service] = data.state
  else if (event === 'alert') state.alerts = [data, ...state.alerts.filter((a) => a.id !== data.id)].slice(0, 8)
}

function render () {
  $('tiles').replaceChildren(...Object.entries(state.metrics).sort(([a], [b]) => a.localeCompare(b)).map(([name, { value }]) =>
    el('div', { class: 'tile', 'data-metric': name, 'data-value': String(value) },
      el('div', { class: 'name' }, name.replace(/_/g, ' ')), el('div', { class: 'value' }, String(value)))))
  $('services').replaceChildren(...Object.entries(state.services).sort(([a], [b]) => a.localeCompare(b)).map(([name, s]) =>
    el('span', { 'data-service': name, 'data-state': s }, `${name} `, el('span', { class: `badge ${s}` }, s))))
  $('alerts').replaceChildren(...(state.alerts.length === 0
    ? [el('li', { class: 'muted' }, 'No alerts.')]
    : state.alerts.map((a) => el('li', { 'data-alert': a.id },
      el('span', { class: `badge ${a.level}` }, a.level), ' ', a.message,
      el('span', { class: 'muted' }, ` · ${new Date(a.at).toLocaleTimeString()}`)))))
}

async function loadSnapshot () {
  const snapshot = await api('/api/dashboard/snapshot')
  state = snapshot.state
  document.body.dataset.snapshots = String(Number(document.body.dataset.snapshots ?? 0) + 1)
  return snapshot
}

function onEvent (event, data, message) {
  // The dashboard's own position, as its stream's ids read (the event's id holds every topic's).
  log(event, data, message.position)
  $('position').textContent = message.position
  if (held !== null) held.push({ event, data })
  else {
    apply({ event, data })
    render()
  }
}

async function onReset ({ reason }, message) {
  resets++
  document.body.dataset.resets = String(resets)
  $('position').textContent = message.position
  const notice = $('notice')
  notice.hidden = false
  notice.dataset.reason = reason
  notice.textContent = `Missed events could not be replayed (${reason}): reloading the dashboard…`
  held ??= []
  try {
    await loadSnapshot()
    for (const item of held) apply(item)
    notice.textContent = `Missed events could not be replayed (${reason}): the dashboard was reloaded from a snapshot.`
    notice.dataset.recovered = 'true'
  } catch (err) {
    notice.textContent = `Missed events could not be replayed (${reason}) and the snapshot failed: ${err.message}`
  } finally {
    held = null
    render()
  }
}

function log (type, data, id) {
  const list = $('log')
  const { at, ...shown } = data
  list.append(el('li', { 'data-event': type, 'data-id': id, 'data-payload': JSON.stringify(data) },
    el('span', { class: 'type' }, type), el('span', { class: 'id' }, id), el('span', {}, JSON.stringify(shown))))
  while (list.childElementCount > MAX_LOG) list.firstElementChild.remove()
  list.scrollTop = list.scrollHeight
}

async function start () {
  const { head } = await loadSnapshot()
  render()
  $('position').textContent = head
  // `dashboardFrom` places the dashboard at the snapshot on the first request; reconnects send
  // Last-Event-ID, which names every topic of the stream.
  const { client } = await pageStream(['dashboard'], `?dashboardFrom=${encodeURIComponent(head)}`)
  client.source.addEventListener('open', () => {
    opens++
    document.body.dataset.opens = String(opens)
    setBadge($('connection'), 'live')
  })
  client.onError((error) => {
    if (error.type === 'connection') setBadge($('connection'), client.source.readyState === 2 ? 'closed' : 'reconnecting')
  })
  for (const type of ['metric', 'alert', 'status']) client.on('dashboard', type, (data, message) => onEvent(type, data, message))
  client.onReset('dashboard', onReset)
}

const publish = (event, data) => api('/api/dashboard/events', { method: 'POST', body: { event, data } })
$('publish-metric').addEventListener('click', () => publish('metric', { name: 'cpu', value: Math.round(Math.random() * 1000) / 10 }))
$('publish-alert').addEventListener('click', () => publish('alert', { level: 'warning', message: 'raised from the page' }))
$('publish-status').addEventListener('click', () => publish('status', { service: 'queue', state: 'degraded' }))

showInstance()
start().catch((err) => {
  setBadge($('connection'), 'failed', 'failed')
  $('notice').hidden = false
  $('notice').textContent = `Could not load the dashboard: ${err.message}`
})
