// Test names go into TAP output, where raw line terminators (including U+2028 and U+0085)
// would break the report: show every non-printable-ASCII character as an escape.
export function show (value) {
  const text = typeof value === 'string' ? JSON.stringify(value) : safeJson(value)
  return text.replace(/[^\x20-\x7e]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
}

function safeJson (value) {
  try {
    return JSON.stringify(value, (k, v) => typeof v === 'bigint' ? `${v}n` : typeof v === 'function' || typeof v === 'symbol' ? String(v) : v) ?? String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}
