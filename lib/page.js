'use strict'

// The live page: counts per (key, origin, thread) over time, suspects, retained objects, a diff
// against a baseline, and a why button per row. Served by the package itself (no CDN), pushed to
// the browser with Server-Sent Events once a second.
//
// Safe by default: loopback only unless a token is given (then every request must carry it); why
// is a POST whose Origin must be the page's own, and a second one while one runs is refused.

const fs = require('node:fs')
const http = require('node:http')
const net = require('node:net')
const path = require('node:path')
const crypto = require('node:crypto')
const { series, processRefs } = require('./process.js')
const { invalidArgType, outOfRange } = require('./errors.js')

const ASSETS = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
}
const assets = new Map()
function asset(name) {
  if (!assets.has(name)) assets.set(name, fs.readFileSync(path.join(__dirname, 'page', name)))
  return assets.get(name)
}

// 15 minutes of one sample a second.
const RING = 900
const MAX_CLIENTS = 16

function isLoopback(host) {
  return host === 'localhost' || host === '::1' || (net.isIPv4(host) && host.startsWith('127.'))
}

function isObject(value) {
  return typeof value === 'object' && value !== null
}

// A bounded ring of samples of the process-wide live counts, taken once a second while a page is
// served. Series are (key, origin, thread); a sample is the count of each series alive then.
class Samples {
  #series = new Map()
  #labels = []
  #ring = []
  #timer = null
  #listeners = new Set()

  // `listener(sample)` after each sample; sampling runs while anyone listens.
  listen(listener) {
    this.#listeners.add(listener)
    if (this.#timer === null) {
      this.take()
      this.#timer = setInterval(() => this.take(), 1000).unref()
    }
  }

  unlisten(listener) {
    this.#listeners.delete(listener)
    if (this.#listeners.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer)
      this.#timer = null
    }
  }

  take() {
    const { live } = series()
    const counts = []
    for (let i = 0; i < live.length; i += 4) {
      const label = `${live[i]}\u0000${live[i + 1]}\u0000${live[i + 2]}`
      let id = this.#series.get(label)
      if (id === undefined) {
        id = this.#labels.length
        this.#series.set(label, id)
        this.#labels.push({ key: live[i], origin: live[i + 1], thread: live[i + 2] })
      }
      counts.push(id, live[i + 3])
    }
    const sample = { time: Date.now(), counts }
    this.#ring.push(sample)
    if (this.#ring.length > RING) this.#ring.shift()
    for (const listener of this.#listeners) listener(sample)
    return sample
  }

  labels() {
    return this.#labels
  }

  history() {
    return this.#ring
  }
}

const samples = new Samples()

function send(res, status, body, type = 'application/json; charset=utf-8') {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' })
  res.end(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body))
}

function readJson(req, limit = 64 * 1024) {
  return new Promise((resolve, reject) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk) => {
      body += chunk
      if (body.length > limit) reject(new Error('request body too large'))
    })
    req.on('end', () => {
      try {
        resolve(JSON.parse(body || '{}'))
      } catch (error) {
        reject(error)
      }
    })
    req.on('error', reject)
  })
}

// The page for `tracker`, as an `(req, res[, next])` handler: `prefix` is where it is mounted in
// a plain node:http server ('' under Express's `app.use('/leaks', ...)`, which strips the mount).
function createHandler(tracker, { prefix = '', token } = {}) {
  const clients = new Set()
  let baseline = null
  let whyRunning = false
  let closed = false

  const tables = () => {
    const now = { refs: processRefs() }
    return {
      suspects: tracker.suspects({ olderThan: 10_000 }),
      retained: tracker.retained({ olderThan: 0 }),
      diff: baseline === null ? null : tracker.diff(baseline, now),
      baselineTime: baseline?.time ?? null,
    }
  }
  const broadcast = (event, data) => {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
    for (const res of clients) res.write(text)
  }
  const onSample = (sample) => {
    if (clients.size === 0) return
    broadcast('sample', { sample, labels: samples.labels() })
    broadcast('tables', tables())
  }
  samples.listen(onSample)

  function authorized(req, url) {
    if (token === undefined) return true
    const given = url.searchParams.get('token') ?? (req.headers.authorization ?? '').replace(/^Bearer /, '')
    const a = Buffer.from(given)
    const b = Buffer.from(token)
    return a.length === b.length && crypto.timingSafeEqual(a, b)
  }

  async function handle(req, res) {
    const url = new URL(req.url, 'http://page')
    if (!url.pathname.startsWith(prefix)) return false
    const route = url.pathname.slice(prefix.length) || '/'
    if (!authorized(req, url)) {
      send(res, 401, { error: 'this page needs its token' })
      return true
    }
    if (req.method === 'GET' && route === '/favicon.ico') {
      res.writeHead(204).end()
      return true
    }
    if (req.method === 'GET' && ASSETS[route] !== undefined) {
      const [name, type] = ASSETS[route]
      send(res, 200, asset(name), type)
      return true
    }
    if (req.method === 'GET' && route === '/events') {
      if (clients.size >= MAX_CLIENTS) {
        send(res, 503, { error: 'too many pages open' })
        return true
      }
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' })
      res.write(`event: history\ndata: ${JSON.stringify({ history: samples.history(), labels: samples.labels() })}\n\n`)
      res.write(`event: tables\ndata: ${JSON.stringify(tables())}\n\n`)
      clients.add(res)
      req.on('close', () => clients.delete(res))
      return true
    }
    if (req.method === 'POST' && (route === '/why' || route === '/baseline')) {
      // A page from anywhere else must not make this app pause for a snapshot: same origin only.
      const expected = `http://${req.headers.host}`
      if (req.headers.origin !== expected) {
        send(res, 403, { error: 'cross-origin request refused' })
        return true
      }
      if (route === '/baseline') {
        baseline = { time: Date.now(), refs: processRefs() }
        send(res, 200, { time: baseline.time })
        broadcast('tables', tables())
        return true
      }
      if (whyRunning) {
        send(res, 409, { error: 'a why() is already running: it pauses the app, so only one at a time' })
        return true
      }
      whyRunning = true
      try {
        let body
        try {
          body = await readJson(req)
        } catch {
          body = null
        }
        if (!isObject(body) || typeof body.key !== 'string' || (body.origin !== undefined && typeof body.origin !== 'string')) {
          send(res, 400, { error: 'the body must be JSON: { "key": ..., "origin": ... }' })
          return true
        }
        const found = await tracker.why(body.key, { origin: body.origin, limit: 20 })
        send(res, 200, found.map(({ key, origin, live, explained, paths }) => ({ key, origin, live, explained, paths: paths.map(({ count, text }) => ({ count, text })) })))
      } catch (error) {
        send(res, 500, { error: error.message, code: error.code })
      } finally {
        whyRunning = false
      }
      return true
    }
    send(res, 404, { error: 'not found' })
    return true
  }

  const handler = (req, res, next) => {
    handle(req, res).then(
      (handled) => {
        if (handled) return
        if (typeof next === 'function') next()
        else send(res, 404, { error: 'not found' })
      },
      (error) => send(res, 500, { error: error.message }),
    )
  }
  handler.close = () => {
    if (closed) return
    closed = true
    for (const res of clients) res.end()
    clients.clear()
    samples.unlisten(onSample)
  }
  return handler
}

function pageOptions(options, caller) {
  if (!isObject(options)) throw invalidArgType('options', 'object', options, caller)
  const { port = 0, host = '127.0.0.1', token } = options
  if (typeof port !== 'number') throw invalidArgType('options.port', 'number', port, caller)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw outOfRange('options.port', '>= 0 && <= 65535', port, caller)
  if (typeof host !== 'string') throw invalidArgType('options.host', 'string', host, caller)
  if (token !== undefined && (typeof token !== 'string' || token.length < 16)) {
    if (typeof token !== 'string') throw invalidArgType('options.token', 'string', token, caller)
    throw outOfRange('options.token', 'at least 16 characters long', '(hidden)', caller)
  }
  if (!isLoopback(host) && token === undefined) {
    const error = new Error(
      `weak-tracker: the page would listen on ${host}, beyond this machine, without a token. ` +
        'Give options.token (every request must then carry it), or listen on 127.0.0.1.',
    )
    error.code = 'ERR_WEAK_TRACKER_PAGE_UNSAFE'
    Error.captureStackTrace(error, caller)
    throw error
  }
  return { port, host, token }
}

// Starts a page server for `tracker`.
async function serve(tracker, options, caller) {
  const { port, host, token } = pageOptions(options, caller)
  const handler = createHandler(tracker, { token })
  const server = http.createServer(handler)
  try {
    await new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, resolve)
    })
  } catch (error) {
    handler.close()
    throw error
  }
  const address = server.address()
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const url = `http://${shown}:${address.port}/${token === undefined ? '' : `?token=${encodeURIComponent(token)}`}`
  return {
    url,
    close() {
      handler.close()
      return new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections?.()
      })
    },
  }
}

function pageHandler(tracker, options, caller) {
  if (!isObject(options)) throw invalidArgType('options', 'object', options, caller)
  const { prefix = '', token } = options
  if (typeof prefix !== 'string') throw invalidArgType('options.prefix', 'string', prefix, caller)
  if (token !== undefined && typeof token !== 'string') throw invalidArgType('options.token', 'string', token, caller)
  return createHandler(tracker, { prefix: prefix.replace(/\/$/, ''), token })
}

module.exports = { serve, pageHandler }
