// Token streaming, the pattern of AI chat APIs: a POST whose response is an event stream of
// text chunks. EventSource cannot POST, so the page reads it with fetch() and a stream reader.
// The "model" here is a deterministic text generator: the streaming is what is real.
import { setTimeout as sleep } from 'node:timers/promises'
import { Type } from '@sinclair/typebox'
import { tokenEvents } from './events.mjs'

export function tokenRoutes (app, { tokenDelayMs }) {
  app.post('/api/generate', {
    schema: { body: Type.Object({ prompt: Type.String({ minLength: 1, maxLength: 500 }) }) },
    sse: { events: tokenEvents }
  }, (request, reply) => reply.sse(async function * ({ signal }) {
    const tokens = tokenize(composeReply(request.body.prompt))
    for (const text of tokens) {
      // Aborts when the reader goes away (Stop, page closed): generation stops with it.
      await sleep(tokenDelayMs, undefined, { signal })
      yield { event: 'token', data: { text } }
    }
    yield { event: 'done', data: { tokens: tokens.length, finish: 'stop' } }
  }))
}

/** The whole answer to `prompt`: the same prompt always gets the same answer. */
export function composeReply (prompt) {
  const topic = prompt.trim().replace(/\s+/g, ' ').replace(/[?.!]+$/, '')
  const openers = [
    'Here is a short answer about',
    'Let me walk through',
    'A quick overview of'
  ]
  const points = [
    'Server-Sent Events keep one HTTP response open and write each event as a few lines of text.',
    'Because the format is plain text, every chunk can be shown the moment it arrives.',
    'A fetch() reader sees the same bytes as EventSource, so it can parse them itself and send a POST body.',
    'When the reader stops, the server notices the closed connection and stops generating.'
  ]
  const pick = [...topic].reduce((sum, c) => sum + c.codePointAt(0), 0)
  return `${openers[pick % openers.length]} "${topic}".\n\n` +
    points.map((point, i) => `${i + 1}. ${point}`).join('\n') +
    `\n\nThat is all for "${topic}" — ${tokenize(topic).length} words in, a streamed answer out.`
}

/** Splits text the way a model emits it: short pieces, each with its leading whitespace. */
export function tokenize (text) {
  const pieces = []
  for (const word of text.match(/\s*\S+|\s+$/g) ?? []) {
    // Long words come out in two pieces, as sub-word tokens do.
    if (word.trim().length > 7) {
      const cut = word.length - Math.ceil(word.trim().length / 2)
      pieces.push(word.slice(0, cut), word.slice(cut))
    } else {
      pieces.push(word)
    }
  }
  return pieces
}
