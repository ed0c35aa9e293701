// Reads an event stream from a fetch() response body, for the requests EventSource cannot make
// (POST, custom headers). Follows the HTML spec's parsing rules: any line ending, comments,
// `data:` lines joined with newlines, and an event dispatched only at a blank line.

export async function * readEvents (body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  let type = ''
  let data = []
  let id = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffer += value
      for (;;) {
        const end = /\r\n|\r|\n/.exec(buffer)
        // A trailing CR may be the first half of a CRLF split across chunks: wait for more.
        if (end === null || (end[0] === '\r' && end.index === buffer.length - 1)) break
        const line = buffer.slice(0, end.index)
        buffer = buffer.slice(end.index + end[0].length)
        if (line === '') {
          if (data.length > 0) yield { event: type || 'message', data: data.join('\n'), id }
          type = ''
          data = []
          continue
        }
        if (line.startsWith(':')) continue
        const colon = line.indexOf(':')
        const field = colon === -1 ? line : line.slice(0, colon)
        let text = colon === -1 ? '' : line.slice(colon + 1)
        if (text.startsWith(' ')) text = text.slice(1)
        if (field === 'event') type = text
        else if (field === 'data') data.push(text)
        else if (field === 'id' && !text.includes('\0')) id = text
      }
    }
  } finally {
    // Leaving early (Stop, an error) cancels the body, which closes the connection.
    await reader.cancel().catch(() => {})
  }
}
