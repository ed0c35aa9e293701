// Job progress: start a job, then follow its typed event stream with the package's browser
// client. Closing the EventSource (Cancel, or leaving the page) is what cancels the job.
import { createSseClient } from '/vendor/fastify-typed-sse/client.js'
import { api, el, setBadge, showInstance } from './common.js'

const $ = (id) => document.getElementById(id)
let client = null

$('start').addEventListener('click', async () => {
  reset()
  $('start').disabled = true
  try {
    const job = await api('/api/jobs', { method: 'POST', body: { speed: $('speed').value } })
    document.body.dataset.jobId = job.id
    $('job-id').textContent = job.id
    watch(job.id)
  } catch (err) {
    setBadge($('status'), 'failed', `could not start: ${err.message}`)
    $('start').disabled = false
  }
})

$('cancel').addEventListener('click', async () => {
  finish('cancelled')
  // The server notices the closed connection; show what it recorded.
  const id = document.body.dataset.jobId
  for (let i = 0; i < 20; i++) {
    const job = await api(`/api/jobs/${id}`)
    if (job.status !== 'running') return setBadge($('status'), job.status, `${job.status} on the server`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
})

function watch (id) {
  client = createSseClient(`/api/jobs/${encodeURIComponent(id)}/events`)
  setBadge($('status'), 'running')
  $('cancel').disabled = false
  client.on('progress', (data) => {
    $('bar').style.width = `${data.percent}%`
    $('percent').textContent = `${data.percent}%`
    $('step').textContent = data.step
    log('progress', `${data.step} · ${data.percent}%`, data)
  })
  client.on('done', (data) => {
    log('done', `ok=${data.ok} · ${data.elapsedMs} ms`, data)
    // The last step was the last one in progress: now the job as a whole is over.
    $('step').textContent = data.ok ? `Done in ${(data.elapsedMs / 1000).toFixed(1)} s` : 'Failed'
    finish(data.ok ? 'done' : 'failed')
  })
  client.onError((error) => {
    if (error.type === 'server') return finish('failed')
    // The job lives as long as its one watcher: a dropped connection cancels it on the server,
    // so the reconnect is refused (409) and EventSource gives up.
    if (error.type === 'connection' && client?.source.readyState === 2) finish('failed', 'connection lost')
  })
}

function finish (state, text = state) {
  client?.close()
  client = null
  setBadge($('status'), state, text)
  $('cancel').disabled = true
  $('start').disabled = false
}

function reset () {
  $('log').replaceChildren()
  $('bar').style.width = '0'
  $('percent').textContent = '0%'
  $('step').textContent = ''
}

function log (type, text, data) {
  $('log').append(el('li', { 'data-event': type, 'data-payload': JSON.stringify(data) },
    el('span', { class: 'type' }, type), el('span', {}, text)))
  $('log').scrollTop = $('log').scrollHeight
}

showInstance()
