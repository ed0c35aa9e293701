/**
 * `Accept` negotiation (RFC 9110 §12.5.1) for the one representation this plugin produces,
 * and the one alternative a dual route offers. A linear scan with no regular expressions: the
 * header is client input and may be huge or malformed. A malformed media range is ignored;
 * a header with no valid range is treated as absent (the client accepts anything). Every range
 * of the header is read, in one pass that keeps none of them: a range late in a long list may
 * refuse what an earlier one accepted. A header too long to read at all accepts nothing.
 */

/** How a client's `Accept` rates one media type: `q` in thousandths, and how specific the matching range was. */
export interface Rating {
  /** 0 (not acceptable) to 1000. */
  q: number
  /** -1 no range matched, 0 `*\/*`, 1 `type/*`, 2 `type/subtype`, 3 with matching parameters. */
  specificity: number
}

interface MediaRange {
  type: string
  subtype: string
  params: Array<[string, string]>
  q: number
}

export interface MediaType {
  type: string
  subtype: string
  params?: Array<[string, string]>
}

export const EVENT_STREAM: MediaType = { type: 'text', subtype: 'event-stream', params: [['charset', 'utf-8']] }

// A longer header is not read: Node itself refuses header blocks over 16 KiB unless told
// otherwise, and a header that cannot be read whole must not be half believed (its last range
// may be the one that refuses), so it accepts nothing.
const MAX_HEADER = 16 * 1024

const ANY: Rating = { q: 1000, specificity: 0 }
const NOTHING: Rating = { q: 0, specificity: -1 }

/** Rates `media` against an `Accept` header value (absent, a string, or Node's array form). */
export function rate (accept: string | string[] | undefined, media: MediaType): Rating {
  if (accept === undefined) return ANY
  const text = Array.isArray(accept) ? accept.join(',') : String(accept)
  if (text.length > MAX_HEADER) return NOTHING
  let best: Rating = NOTHING
  let valid = false
  const scan = new Scanner(text)
  while (!scan.done()) {
    const range = scan.range()
    if (range !== undefined) {
      valid = true
      const specificity = matches(range, media)
      if (specificity > best.specificity || (specificity === best.specificity && specificity >= 0 && range.q > best.q)) {
        best = { q: range.q, specificity }
      }
    }
    scan.skipToNextElement()
  }
  return valid ? best : ANY
}

/** True when the client accepts an event stream at all (most specific matching range has q > 0). */
export function acceptsEventStream (accept: string | string[] | undefined): boolean {
  return rate(accept, EVENT_STREAM).q > 0
}

/**
 * True when the client prefers an event stream to `alternative`: a higher q, or the same q
 * from a more specific range. A tie goes to the alternative, so `*\/*` (fetch, curl) and no
 * header get the alternative and only a client that names `text/event-stream` gets the stream.
 */
export function prefersEventStream (accept: string | string[] | undefined, alternative: MediaType): boolean {
  const stream = rate(accept, EVENT_STREAM)
  if (stream.q === 0) return false
  const other = rate(accept, alternative)
  return stream.q > other.q || (stream.q === other.q && stream.specificity > other.specificity)
}

/** Parses a media type such as `application/json`; undefined when it is not one. */
export function parseMediaType (value: string): MediaType | undefined {
  const scan = new Scanner(value)
  if (scan.done()) return undefined
  const range = scan.range()
  scan.skipToNextElement()
  if (range === undefined || !scan.done()) return undefined
  const { type, subtype, params } = range
  if (type === '*' || subtype === '*') return undefined
  return { type, subtype, params }
}

function matches (range: MediaRange, media: MediaType): number {
  if (range.type === '*') return range.subtype === '*' ? 0 : -1
  if (range.type !== media.type) return -1
  if (range.subtype === '*') return 1
  if (range.subtype !== media.subtype) return -1
  if (range.params.length === 0) return 2
  const own = media.params ?? []
  for (const [name, value] of range.params) {
    if (!own.some(([n, v]) => n === name && v === value)) return -1
  }
  return 3
}

const TCHAR = new Uint8Array(128)
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1

class Scanner {
  private i = 0
  constructor (private readonly s: string) {}

  done (): boolean {
    this.ows()
    while (this.s[this.i] === ',') {
      this.i++
      this.ows()
    }
    return this.i >= this.s.length
  }

  /** One element; undefined when malformed (the caller then skips to the next comma). */
  range (): MediaRange | undefined {
    const type = this.token()
    if (type === '' || this.s[this.i] !== '/') return undefined
    this.i++
    const subtype = this.token()
    if (subtype === '' || (type === '*' && subtype !== '*')) return undefined
    const params: Array<[string, string]> = []
    let q = 1000
    for (;;) {
      this.ows()
      const c = this.s[this.i]
      if (c === undefined || c === ',') break
      if (c !== ';') return undefined
      this.i++
      this.ows()
      // A trailing or doubled `;` is tolerated, as common parsers do.
      if (this.s[this.i] === ';' || this.s[this.i] === ',' || this.i >= this.s.length) continue
      const name = this.token().toLowerCase()
      if (name === '' || this.s[this.i] !== '=') return undefined
      this.i++
      const value = this.s[this.i] === '"' ? this.quoted() : this.token()
      if (value === undefined || (value === '' && this.s[this.i - 1] !== '"')) return undefined
      if (name === 'q') {
        const weight = qvalue(value)
        if (weight === undefined) return undefined
        q = weight
        // What follows q is accept-ext, not part of the media range.
        break
      }
      params.push([name, name === 'charset' ? value.toLowerCase() : value])
    }
    return { type: type.toLowerCase(), subtype: subtype.toLowerCase(), params, q }
  }

  skipToNextElement (): void {
    const s = this.s
    let quoted = false
    while (this.i < s.length) {
      const c = s[this.i]
      if (quoted) {
        if (c === '\\') this.i++
        else if (c === '"') quoted = false
      } else if (c === '"') {
        quoted = true
      } else if (c === ',') {
        return
      }
      this.i++
    }
  }

  private ows (): void {
    while (this.s[this.i] === ' ' || this.s[this.i] === '\t') this.i++
  }

  private token (): string {
    const start = this.i
    const s = this.s
    while (this.i < s.length) {
      const code = s.charCodeAt(this.i)
      if (code >= 128 || TCHAR[code] === 0) break
      this.i++
    }
    return s.slice(start, this.i)
  }

  private quoted (): string | undefined {
    const s = this.s
    let out = ''
    this.i++
    while (this.i < s.length) {
      const c = s[this.i++]
      if (c === '"') return out
      if (c === '\\') {
        if (this.i >= s.length) return undefined
        out += s[this.i++]
      } else {
        out += c
      }
    }
    return undefined
  }
}

/** RFC 9110 qvalue: `0`, `0.` and up to three digits, `1`, `1.` and up to three zeros. */
function qvalue (v: string): number | undefined {
  if (v.length === 0 || v.length > 5) return undefined
  if (v[0] !== '0' && v[0] !== '1') return undefined
  if (v.length === 1) return v === '1' ? 1000 : 0
  if (v[1] !== '.') return undefined
  let milli = 0
  let scale = 100
  for (let k = 2; k < v.length; k++) {
    const d = v.charCodeAt(k) - 48
    if (d < 0 || d > 9) return undefined
    milli += d * scale
    scale /= 10
  }
  if (v[0] === '1') return milli === 0 ? 1000 : undefined
  return milli
}
