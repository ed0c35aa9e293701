// Token streaming: POST the prompt with fetch() and render each `token` event as it arrives.
// EventSource cannot send a body, so the page reads the event stream itself (sse-reader.js);
// Stop aborts the request, which the server sees as the client leaving.
import { setBadge, showInstance } from './common.js'
import { readEvents } from './sse-reader.js'

const $ = (id) => document.getElementById(id)
let controller = null

$('form').addEventListener('submit', async (event) => {
  event.preventDefault()
  controller = new AbortController()
  const output = $('output')
  output.textContent = ''
  output.classList.add('streaming')
  $('count').textContent = '0'
  $('generate').disabled = true
  $('stop').disabled = false
  setBadge($('status'), 'running', 'streaming')
  let count = 0
  try {
    const response = await fetch('/api/generate', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ prompt: $('prompt').value }),
      signal: controller.signal
    })
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`)
    let finished = false
    for await (const message of readEvents(response.body)) {
      const data = JSON.parse(message.data)
      if (message.event === 'token') {
        output.append(data.text)
        $('count').textContent = String(++count)
      } else if (message.event === 'done') {
        finished = true
        setBadge($('status'), 'done', `done · ${data.tokens} tokens`)
      } else if (message.event === 'error') {
        throw new Error(data.message)
      }
    }
    if (!finished) throw new Error('the stream ended early')
  } catch (err) {
    if (err.name === 'AbortError') setBadge($('status'), 'cancelled', 'stopped')
    else setBadge($('status'), 'failed', `failed: ${err.message}`)
  } finally {
    output.classList.remove('streaming')
    $('generate').disabled = false
    $('stop').disabled = true
    controller = null
  }
})

$('stop').addEventListener('click', () => controller?.abort())

showInstance()
