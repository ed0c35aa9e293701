// Small helpers shared by the pages: building elements, calling the JSON API, and the
// header badge that says which instance and store served the page.

export function el (tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'class') node.className = value
    else if (name.startsWith('data-')) node.setAttribute(name, value)
    else node[name] = value
  }
  node.append(...children)
  return node
}

export async function api (path, { method = 'GET', body } = {}) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const payload = await response.json().catch(() => ({}))
  if (!response.ok) throw Object.assign(new Error(payload.message ?? response.statusText), { status: response.status })
  return payload
}

export function setBadge (node, state, text = state) {
  node.className = `badge ${state}`
  node.textContent = text
  node.dataset.state = state
}

export async function showInstance () {
  const node = document.getElementById('instance')
  if (node === null) return
  try {
    const { store, pid } = await api('/api/info')
    node.textContent = `${location.host} · ${store} store · pid ${pid}`
  } catch {
    node.textContent = location.host
  }
}
