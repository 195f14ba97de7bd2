'use strict'

// The live page: counts per (key, origin, thread) over time, suspects, retained objects, a diff
// against a baseline, and a why button per row. Served by the package itself (no CDN), pushed to
// the browser with Server-Sent Events once a second.
//
// Safe by default: loopback only unless a token is given (then every request must carry it, and
// the page trades the one in its address for a cookie); without a token only this server's own
// names are answered; why is a POST whose Origin must be the page's own, its body is small and
// read in bounded time, and a second one while one runs is refused.

const fs = require('node:fs')
const http = require('node:http')
const net = require('node:net')
const path = require('node:path')
const crypto = require('node:crypto')
const { series, processRefs } = require('./process.js')
const { currentLines } = require('./sampling.js')
const { threadId } = require('node:worker_threads')
const { outOfRange, invalidArgValue } = require('./errors.js')
const { isObject, validateObject, validateString, validateInteger } = require('./validate.js')

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
// A why body is a key and an origin: 64 KiB is plenty, and it must arrive within 5 s (64 KiB at
// 13 KB/s), or the request is closed.
const BODY_LIMIT = 64 * 1024
const BODY_TIMEOUT_MS = 5000

function isLoopback(host) {
  return host === 'localhost' || host === '::1' || (net.isIPv4(host) && host.startsWith('127.'))
}

// The name in a Host header, without its port or brackets, lower case: `[::1]:80` -> `::1`.
function hostName(header) {
  if (typeof header !== 'string') return ''
  const name = header.startsWith('[') ? header.slice(1, header.indexOf(']')) : header.replace(/:\d*$/, '')
  return name.toLowerCase().replace(/\.$/, '')
}

// An address as net reports it, without the IPv4-mapped prefix: `::ffff:127.0.0.1` -> `127.0.0.1`.
function plainAddress(address) {
  return typeof address === 'string' ? address.replace(/^::ffff:(?=\d+\.)/i, '').toLowerCase() : ''
}

// A bounded ring of samples of the process-wide live counts, taken once a second while a page is
// served. Series are (key, origin, thread), numbered once; a sample is the count of each series
// alive then. A series is forgotten when no sample in the ring has it, and each sample says which
// series it names for the first time and which it forgot, so that a page is sent a name once.
class Samples {
  // label text -> id, id -> { key, origin, thread }, id -> samples in the ring that have it.
  #ids = new Map()
  #labels = new Map()
  #uses = new Map()
  #next = 0
  #ring = []
  #timer = null
  #listeners = new Set()

  // `listener(sample, added, dropped)` after each sample; sampling runs while anyone listens.
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
    const added = []
    for (let i = 0; i < live.length; i += 4) {
      const text = `${live[i]}\u0000${live[i + 1]}\u0000${live[i + 2]}`
      let id = this.#ids.get(text)
      if (id === undefined) {
        id = this.#next++
        const label = { key: live[i], origin: live[i + 1], thread: live[i + 2] }
        this.#ids.set(text, id)
        this.#labels.set(id, label)
        added.push([id, label])
      }
      this.#uses.set(id, (this.#uses.get(id) ?? 0) + 1)
      counts.push(id, live[i + 3])
    }
    const sample = { time: Date.now(), counts }
    this.#ring.push(sample)
    const dropped = []
    if (this.#ring.length > RING) {
      const gone = this.#ring.shift().counts
      for (let i = 0; i < gone.length; i += 2) {
        const id = gone[i]
        const uses = this.#uses.get(id) - 1
        if (uses > 0) {
          this.#uses.set(id, uses)
          continue
        }
        const { key, origin, thread } = this.#labels.get(id)
        this.#ids.delete(`${key}\u0000${origin}\u0000${thread}`)
        this.#labels.delete(id)
        this.#uses.delete(id)
        dropped.push(id)
      }
    }
    for (const listener of this.#listeners) listener(sample, added, dropped)
    return sample
  }

  // `[id, { key, origin, thread }]` of every series in the ring.
  labels() {
    return [...this.#labels]
  }

  history() {
    return this.#ring
  }
}

const samples = new Samples()

const SECURITY_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  // The page's own address never goes anywhere in a Referer (it may have carried the token).
  'Referrer-Policy': 'no-referrer',
}

function send(res, status, body, type = 'application/json; charset=utf-8', headers = {}) {
  res.writeHead(status, { 'Content-Type': type, ...SECURITY_HEADERS, ...headers })
  res.end(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body))
}

// Answers `status` and closes the connection, without reading the rest of the request's body.
function refuseBody(req, res, status, error) {
  req.pause()
  res.shouldKeepAlive = false
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...SECURITY_HEADERS, Connection: 'close' })
  res.end(JSON.stringify({ error }), () => req.socket?.destroy())
}

// The request's body as JSON (`{}` when empty), or `undefined` once it has answered the request
// itself: 413 past `BODY_LIMIT` (read no further), 408 when the body takes longer than
// `BODY_TIMEOUT_MS`, 400 when it is not JSON.
function readJson(req, res) {
  const declared = Number(req.headers['content-length'])
  if (declared > BODY_LIMIT) {
    refuseBody(req, res, 413, `the body must be at most ${BODY_LIMIT} bytes`)
    return Promise.resolve(undefined)
  }
  return new Promise((resolve) => {
    const chunks = []
    let size = 0
    let done = false
    const finish = (value) => {
      done = true
      clearTimeout(timer)
      req.removeListener('data', onData)
      resolve(value)
    }
    const timer = setTimeout(() => {
      refuseBody(req, res, 408, `the body must arrive within ${BODY_TIMEOUT_MS / 1000} s`)
      finish(undefined)
    }, BODY_TIMEOUT_MS)
    timer.unref()
    const onData = (chunk) => {
      size += chunk.length
      if (size > BODY_LIMIT) {
        refuseBody(req, res, 413, `the body must be at most ${BODY_LIMIT} bytes`)
        finish(undefined)
        return
      }
      chunks.push(chunk)
    }
    req.on('data', onData)
    req.once('end', () => {
      if (done) return
      let body
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}')
      } catch {
        body = null
      }
      finish(body)
    })
    req.once('error', () => {
      if (!done) finish(undefined)
    })
    req.once('close', () => {
      if (!done) finish(undefined)
    })
  })
}

function threadName(thread) {
  return thread === 0 ? 'the main thread' : `worker ${thread}`
}

// The page for `tracker`, as an `(req, res[, next])` handler: `prefix` is where it is mounted in
// a plain node:http server ('' under Express's `app.use('/leaks', ...)`, which strips the mount);
// `hosts` the names it answers to besides localhost, the loopback addresses and the address the
// request came in on (without a token; with one, any).
function createHandler(tracker, { prefix = '', token, hosts = [] } = {}) {
  const clients = new Set()
  let baseline = null
  let whyRunning = false
  let closed = false
  const allowedHosts = new Set(hosts.map((host) => hostName(host.includes(':') && !host.startsWith('[') ? `[${host}]` : host)))

  // Token mode: the token in the page's address is traded for a cookie once (303 to the address
  // without it), so that it is not in the address bar, the history, the page's own requests or
  // their Referer. The cookie holds an HMAC of the token under a key of this handler, not the
  // token; its name is per handler, so two pages on one host keep their own.
  const session = token === undefined ? null : crypto.createHmac('sha256', crypto.randomBytes(32)).update(token).digest('hex')
  const cookieName = session === null ? null : `weak-tracker-page-${crypto.createHash('sha256').update(session).digest('hex').slice(0, 12)}`

  const tables = () => {
    const now = { refs: processRefs() }
    return {
      suspects: tracker.suspects({ olderThan: 10_000 }),
      retained: tracker.retained({ olderThan: 0 }),
      // Growing lines of the sampling profiler, when weak-tracker/register runs; else null.
      lines: currentLines()?.slice(0, 20) ?? null,
      diff: baseline === null ? null : tracker.diff(baseline, now),
      baselineTime: baseline?.time ?? null,
    }
  }
  const broadcast = (event, data) => {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
    for (const res of clients) res.write(text)
  }
  const onSample = (sample, added, dropped) => {
    if (clients.size === 0) return
    broadcast('sample', { sample, added, dropped })
    broadcast('tables', tables())
  }
  samples.listen(onSample)

  const same = (given, expected) => {
    const a = Buffer.from(given)
    const b = Buffer.from(expected)
    return a.length === b.length && crypto.timingSafeEqual(a, b)
  }
  const cookieOf = (req) => {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const at = part.indexOf('=')
      if (at !== -1 && part.slice(0, at).trim() === cookieName) return part.slice(at + 1).trim()
    }
    return null
  }
  const tokenIn = (url) => {
    const given = url.searchParams.get('token')
    return given !== null && same(given, token)
  }
  function authorized(req, url) {
    if (token === undefined) return true
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')
    if (bearer !== null && same(bearer[1], token)) return true
    const cookie = cookieOf(req)
    if (cookie !== null && same(cookie, session)) return true
    return tokenIn(url)
  }

  // Without a token, a name that is not this server's is a page elsewhere that had its name
  // rebound to this machine: it must not read the keys and origins, nor pause the app.
  function hostAllowed(req) {
    if (token !== undefined) return true
    const name = hostName(req.headers.host)
    return isLoopback(name) || allowedHosts.has(name) || (name !== '' && name === plainAddress(req.socket?.localAddress))
  }

  // A POST must come from the page itself: an Origin of this Host (http or https: a TLS proxy in
  // front may make the page https while this socket is plain).
  function sameOrigin(req) {
    let origin
    try {
      origin = new URL(req.headers.origin)
    } catch {
      return false
    }
    return (origin.protocol === 'http:' || origin.protocol === 'https:') && origin.host === String(req.headers.host).toLowerCase()
  }

  // Why a why on a row of `thread` cannot be answered here, or null if it can.
  function otherThread(key, thread) {
    if (thread === undefined || thread === threadId) return null
    return {
      code: 'ERR_WEAK_TRACKER_OTHER_THREAD',
      thread,
      error:
        `${threadName(thread)}: a heap snapshot shows only the heap of the thread that takes it, and this page runs on ` +
        `${threadName(threadId)}. Call why(${JSON.stringify(key)}) on the tracker in ${threadName(thread)} (or serve a page from there).`,
    }
  }

  // When this page's tracker has nothing of (key, origin) alive: whether another tracker of this
  // thread has (rows are per thread, trackers summed), or null.
  function otherTracker(key, origin) {
    const { live } = series()
    for (let i = 0; i < live.length; i += 4) {
      if (live[i] === key && (origin === undefined || live[i + 1] === origin) && live[i + 2] === threadId && live[i + 3] > 0) {
        return {
          code: 'ERR_WEAK_TRACKER_OTHER_TRACKER',
          thread: threadId,
          error:
            'these objects were tracked by another WeakTracker of this thread: the page explains the objects of the ' +
            `tracker it was started from. Call why(${JSON.stringify(key)}) on the other tracker.`,
        }
      }
    }
    return null
  }

  async function why(req, res) {
    const body = await readJson(req, res)
    if (body === undefined) return
    if (
      !isObject(body) ||
      typeof body.key !== 'string' ||
      (body.origin !== undefined && typeof body.origin !== 'string') ||
      (body.thread !== undefined && !Number.isInteger(body.thread))
    ) {
      send(res, 400, { error: 'the body must be JSON: { "key": ..., "origin": ..., "thread": ... }' })
      return
    }
    if (whyRunning) {
      send(res, 409, { error: 'a why() is already running: it pauses the app, so only one at a time' })
      return
    }
    const elsewhere = otherThread(body.key, body.thread)
    if (elsewhere !== null) {
      send(res, 422, elsewhere)
      return
    }
    whyRunning = true
    try {
      const found = await tracker.why(body.key, { origin: body.origin, limit: 20 })
      if (found.length === 0) {
        const other = otherTracker(body.key, body.origin)
        if (other !== null) {
          send(res, 422, other)
          return
        }
      }
      send(res, 200, found.map(({ key, origin, live, explained, paths }) => ({ key, origin, live, explained, paths: paths.map(({ count, text }) => ({ count, text })) })))
    } catch (error) {
      send(res, 500, { error: error.message, code: error.code })
    } finally {
      whyRunning = false
    }
  }

  async function handle(req, res) {
    const url = new URL(req.url, 'http://page')
    let route
    if (prefix === '') route = url.pathname
    else if (url.pathname.startsWith(`${prefix}/`)) route = url.pathname.slice(prefix.length)
    else if (url.pathname === prefix) route = ''
    else return false
    if (!hostAllowed(req)) {
      send(res, 403, { error: 'this page answers only to the names of its own server (or give it a token)' })
      return true
    }
    // The address as the browser sees it: Express strips its mount path from req.url.
    // (One leading slash: `//name/` in a Location would send the browser to another host.)
    const seen = (typeof req.originalUrl === 'string' ? new URL(req.originalUrl, 'http://page').pathname : url.pathname).replace(/^\/+/, '/')
    if (route === '' || (route === '/' && !seen.endsWith('/'))) {
      // `/leaks` -> `/leaks/`, so that the page's relative addresses stay under it.
      send(res, 308, { error: 'the page is one level down' }, undefined, { Location: `${seen}/${url.search}` })
      return true
    }
    if (!authorized(req, url)) {
      send(res, 401, { error: 'this page needs its token: open the address serve() gave (cookies must be allowed)' })
      return true
    }
    if (req.method === 'GET' && route === '/' && token !== undefined && tokenIn(url)) {
      url.searchParams.delete('token')
      const secure = req.socket?.encrypted ? '; Secure' : ''
      send(res, 303, { error: 'see the page without the token' }, undefined, {
        Location: `${seen}${url.search}`,
        'Set-Cookie': `${cookieName}=${session}; Path=${seen}; HttpOnly; SameSite=Strict${secure}`,
      })
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
      res.writeHead(200, { 'Content-Type': 'text/event-stream', ...SECURITY_HEADERS, Connection: 'keep-alive' })
      res.write(`event: history\ndata: ${JSON.stringify({ thread: threadId, history: samples.history(), labels: samples.labels() })}\n\n`)
      res.write(`event: tables\ndata: ${JSON.stringify(tables())}\n\n`)
      clients.add(res)
      req.on('close', () => clients.delete(res))
      return true
    }
    if (req.method === 'POST' && (route === '/why' || route === '/baseline')) {
      // A page from anywhere else must not make this app pause for a snapshot: same origin only.
      if (!sameOrigin(req)) {
        send(res, 403, { error: 'cross-origin request refused' })
        return true
      }
      if (route === '/baseline') {
        baseline = { time: Date.now(), refs: processRefs() }
        send(res, 200, { time: baseline.time })
        broadcast('tables', tables())
        return true
      }
      await why(req, res)
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
      (error) => {
        if (!res.headersSent) send(res, 500, { error: error.message })
        else res.destroy()
      },
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

// `options.token`: undefined, or a string of at least 16 characters.
function tokenOption(token, caller) {
  if (token === undefined) return undefined
  validateString(token, 'options.token', caller)
  if (token === '') throw invalidArgValue('options.token', token, 'must not be empty', caller)
  if (token.length < 16) throw outOfRange('options.token', 'at least 16 characters long', '(hidden)', caller)
  return token
}

function pageOptions(options, caller) {
  validateObject(options, 'options', caller)
  const { port = 0, host = '127.0.0.1' } = options
  validateInteger(port, 'options.port', caller, 0, 65535)
  validateString(host, 'options.host', caller)
  const token = tokenOption(options.token, caller)
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
  const handler = createHandler(tracker, { token, hosts: [host] })
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
  validateObject(options, 'options', caller)
  const { prefix = '' } = options
  validateString(prefix, 'options.prefix', caller)
  if (prefix !== '' && !prefix.startsWith('/')) throw invalidArgValue('options.prefix', prefix, "must start with '/'", caller)
  const token = tokenOption(options.token, caller)
  return createHandler(tracker, { prefix: prefix.replace(/\/+$/, ''), token })
}

module.exports = { serve, pageHandler }
