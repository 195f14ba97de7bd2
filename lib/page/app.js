'use strict'
// The live page: renders what the server pushes. Every text from the app (keys, origins, paths)
// goes into the page as text, never as markup.

// With a token, the server traded the one in the address for a cookie before this page loaded:
// the page's own requests carry the cookie, never the token.
const WINDOW = 60 // samples: "last minute"
const COLORS = ['#c0392b', '#2471a3', '#1e8449', '#b9770e', '#7d3c98', '#117a65', '#a04000', '#2e4053']

// Series id -> { key, origin, thread }; the thread this page's server runs in.
let labels = new Map()
let history = []
let pageThread = 0

function cell(row, text, className) {
  const td = document.createElement('td')
  td.textContent = text
  if (className) td.className = className
  row.append(td)
  return td
}

function threadName(thread) {
  return thread === 0 ? 'main' : `worker ${thread}`
}

function whyButton(row, key, origin, thread) {
  const td = document.createElement('td')
  const button = document.createElement('button')
  button.textContent = 'why'
  button.className = 'why'
  if (thread !== undefined && thread !== pageThread) button.title = `${threadName(thread)}: why() looks at the heap of the page's own thread only`
  button.addEventListener('click', () => why(key, origin, thread))
  td.append(button)
  row.append(td)
}

// Per series: its counts over the kept samples (0 where it had none).
function seriesValues() {
  const values = new Map()
  for (const id of labels.keys()) values.set(id, new Array(history.length).fill(0))
  history.forEach((sample, t) => {
    for (let i = 0; i < sample.counts.length; i += 2) {
      const v = values.get(sample.counts[i])
      if (v !== undefined) v[t] = sample.counts[i + 1]
    }
  })
  return values
}

function render() {
  const values = seriesValues()
  const last = history.length - 1
  const rows = [...labels]
    .map(([id, label]) => {
      const v = values.get(id)
      const now = last >= 0 ? v[last] : 0
      const start = Math.max(0, last - WINDOW)
      const then = v[start] ?? 0
      // Rising: the lowest count of the last third of the window is above the highest of its first
      // third. A line that only goes up and down (objects a request holds for a moment) is not.
      const span = last - start + 1
      const third = Math.floor(span / 3)
      const rising = third >= 2 && Math.min(...v.slice(last - third + 1, last + 1)) > Math.max(...v.slice(start, start + third))
      return { ...label, id, now, delta: now - then, rising }
    })
    .filter((r) => r.now > 0 || r.delta !== 0)
    .sort((a, b) => b.rising - a.rising || b.delta - a.delta || b.now - a.now)
  draw(values, rows)
  const body = document.querySelector('#series tbody')
  body.replaceChildren()
  rows.forEach((r, i) => {
    const row = document.createElement('tr')
    if (r.rising) row.className = 'rising'
    const swatch = document.createElement('span')
    swatch.className = 'swatch'
    swatch.style.background = COLORS[i % COLORS.length]
    const td = document.createElement('td')
    td.append(swatch)
    row.append(td)
    cell(row, r.key)
    cell(row, r.origin, 'origin')
    cell(row, threadName(r.thread))
    cell(row, String(r.now), 'num live')
    cell(row, r.delta > 0 ? `↑ +${r.delta}` : r.delta < 0 ? `↓ ${r.delta}` : '→ 0', 'num trend')
    whyButton(row, r.key, r.origin, r.thread)
    body.append(row)
  })
  document.getElementById('status').textContent = `${history.length} samples, one a second; ${rows.filter((r) => r.rising).length} line(s) rising`
}

function draw(values, rows) {
  const canvas = document.getElementById('chart')
  const g = canvas.getContext('2d')
  const w = canvas.width
  const h = canvas.height
  const pad = 40
  g.clearRect(0, 0, w, h)
  const max = Math.max(1, ...rows.map((r) => Math.max(...values.get(r.id))))
  g.strokeStyle = '#ccd1d9'
  g.fillStyle = '#5b6575'
  g.font = '12px sans-serif'
  g.beginPath()
  g.moveTo(pad, 10)
  g.lineTo(pad, h - pad)
  g.lineTo(w - 10, h - pad)
  g.stroke()
  g.fillText(String(max), 4, 16)
  g.fillText('0', 4, h - pad)
  g.fillText(`${history.length} s`, pad, h - pad + 16)
  g.fillText('now', w - 40, h - pad + 16)
  const n = Math.max(2, history.length)
  rows.forEach((r, i) => {
    g.strokeStyle = COLORS[i % COLORS.length]
    g.lineWidth = r.rising ? 3 : 1.5
    g.beginPath()
    values.get(r.id).forEach((v, t) => {
      const x = pad + ((w - pad - 10) * t) / (n - 1)
      const y = h - pad - ((h - pad - 10) * v) / max
      if (t === 0) g.moveTo(x, y)
      else g.lineTo(x, y)
    })
    g.stroke()
  })
}

function fillTable(id, rows, columns, withWhy = true) {
  const body = document.querySelector(`#${id} tbody`)
  body.replaceChildren()
  for (const r of rows) {
    const row = document.createElement('tr')
    for (const [field, className] of columns) cell(row, typeof field === 'function' ? field(r) : String(r[field]), className)
    if (withWhy) whyButton(row, r.key, r.origin)
    body.append(row)
  }
}

function bytes(n) {
  const abs = Math.abs(n)
  const text = abs < 1024 ? `${abs} B` : abs < 1024 ** 2 ? `${(abs / 1024).toFixed(1)} KiB` : `${(abs / 1024 ** 2).toFixed(1)} MiB`
  return n < 0 ? `-${text}` : text
}

function renderTables(tables) {
  const age = (r) => `${(r.oldestMs / 1000).toFixed(1)} s`
  fillTable('suspects', tables.suspects, [['key'], ['origin', 'origin'], ['count', 'num'], [age, 'num']])
  fillTable('retained', tables.retained, [['key'], ['origin', 'origin'], ['count', 'num'], [age, 'num']])
  // Sampled lines exist only under weak-tracker/register: the section shows then.
  document.getElementById('lines-section').hidden = tables.lines === null
  if (tables.lines !== null) {
    const growth = (r) => `${r.growth >= 0 ? '+' : ''}${bytes(r.growth)}${r.growing ? ' growing' : ''}`
    fillTable('lines', tables.lines, [['origin', 'origin'], [(r) => bytes(r.liveBytes), 'num'], [growth, 'num']], false)
  }
  fillTable('diff', tables.diff ?? [], [['key'], ['origin', 'origin'], ['before', 'num'], ['after', 'num'], [(r) => (r.delta > 0 ? `+${r.delta}` : String(r.delta)), 'num']])
  document.getElementById('baseline-time').textContent = tables.baselineTime ? `set at ${new Date(tables.baselineTime).toLocaleTimeString()}` : 'not set'
}

async function why(key, origin, thread) {
  const status = document.getElementById('why-status')
  const out = document.getElementById('why')
  status.textContent = `why('${key}') at ${origin}: taking a heap snapshot…`
  const res = await fetch('why', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ key, origin, thread }) })
  const body = await res.json()
  if (res.status === 422) {
    // Objects of another thread or tracker: the server says which, and why it cannot look.
    status.textContent = `why('${key}'): not explained here`
    out.textContent = body.error
    return
  }
  if (!res.ok) {
    status.textContent = `why failed: ${body.error}`
    return
  }
  const site = body[0]
  if (site === undefined) {
    status.textContent = `why('${key}'): nothing of it is alive any more`
    out.textContent = ''
    return
  }
  status.textContent = `why('${key}'): ${site.live} live, ${site.explained} explained, ${site.paths.length} path shape(s)`
  out.textContent = site.paths.map((p) => p.text).join('\n\n') || '(no retainer path: nothing in the heap snapshot holds them)'
}

document.getElementById('baseline').addEventListener('click', () => fetch('baseline', { method: 'POST' }))

const events = new EventSource('events')
events.addEventListener('history', (e) => {
  const data = JSON.parse(e.data)
  pageThread = data.thread
  labels = new Map(data.labels)
  history = data.history
  render()
})
// Each sample names only the series new since the last one, and the ones no sample kept shows.
events.addEventListener('sample', (e) => {
  const data = JSON.parse(e.data)
  for (const [id, label] of data.added) labels.set(id, label)
  for (const id of data.dropped) labels.delete(id)
  history.push(data.sample)
  if (history.length > 900) history.shift()
  render()
})
events.addEventListener('tables', (e) => renderTables(JSON.parse(e.data)))
events.addEventListener('error', () => {
  document.getElementById('status').textContent = 'disconnected: is the app still running?'
})
