'use strict'

// Watchers, as LeakCanary's: objects that are expected to be garbage once their work is done.
// Every `http.IncomingMessage` once its response has finished, every server-side `net.Socket` once
// it has closed, given to a tracker's expectCollected() under the route that served it.
// `retained()` then lists those that outlived their end. The `ServerResponse` is not watched on its
// own: request and response hold each other (`req.res`, `res.req`), so one outlives its end exactly
// when the other does, and a second weak reference per request doubled the watchers' cost
// (measured with benchmark/register.js).
//
// The hooks are Node's diagnostics channels (`http.server.response.finish`, `net.server.socket`),
// which change nothing in the app: no patched prototype, no listener the app could see in
// `server.listeners('request')`.

const dc = require('node:diagnostics_channel')
const { expectCollectedAt } = require('./tracker.js')

const REQUEST = 'http.IncomingMessage'
const SOCKET = 'net.Socket'

// A path segment is kept only when it reads as a fixed word of the route (`items`, `api`, `v2`):
// anything with digits beyond a short version, an `@`, percent-escapes or length is an id or user
// data and becomes `:id`. The route names where the object was made; it must not carry the
// request's data (e-mail addresses, tokens) into a report.
const WORD = /^[A-Za-z][A-Za-z_-]{0,31}$|^v\d{1,2}$/
const MAX_SEGMENTS = 8
// Distinct routes are bounded: an app that serves ever new paths must not grow the books.
const MAX_ROUTES = 1000

function collapsePath(url) {
  const path = String(url).split(/[?#]/, 1)[0]
  const segments = path.split('/').slice(1)
  const kept = segments.slice(0, MAX_SEGMENTS).map((s) => (s === '' || WORD.test(s) ? s : ':id'))
  return `/${kept.join('/')}${segments.length > MAX_SEGMENTS ? '/…' : ''}`
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE'])

// The route of a request: Express's own words when it matched one (`req.baseUrl` + `req.route.path`,
// both set before the response ends), else the method and the path with ids collapsed.
function routeOf(req) {
  const method = METHODS.has(req.method) ? req.method : 'OTHER'
  const routePath = req.route?.path
  if (typeof routePath === 'string') {
    const base = typeof req.baseUrl === 'string' ? req.baseUrl : ''
    return `${method} ${base}${routePath}`
  }
  return `${method} ${collapsePath(req.originalUrl ?? req.url ?? '/')}`
}

class Watcher {
  #tracker
  #routes = new Set()
  #onFinish
  #onSocket

  constructor(tracker) {
    this.#tracker = tracker
    this.#onFinish = (message) => this.#guard(() => this.#finished(message))
    this.#onSocket = (message) => this.#guard(() => this.#connected(message))
    dc.subscribe('http.server.response.finish', this.#onFinish)
    dc.subscribe('net.server.socket', this.#onSocket)
  }

  // A watcher must never be why a request fails.
  #guard(fn) {
    try {
      fn()
    } catch {
      // Nothing the app should see.
    }
  }

  #origin(text) {
    if (this.#routes.has(text)) return text
    if (this.#routes.size >= MAX_ROUTES) return 'other routes'
    this.#routes.add(text)
    return text
  }

  #finished({ request }) {
    if (request === undefined) return
    this.#tracker[expectCollectedAt](REQUEST, this.#origin(routeOf(request)), request)
  }

  #connected({ socket }) {
    if (socket === undefined) return
    const port = socket.localPort
    const origin = this.#origin(`server port ${Number.isInteger(port) ? port : '?'}`)
    // The listener holds only the tracker and the origin text, never the socket.
    socket.once('close', this.#closed(origin))
  }

  #closed(origin) {
    const tracker = this.#tracker
    return function onClose() {
      try {
        tracker[expectCollectedAt](SOCKET, origin, this)
      } catch {
        // As above.
      }
    }
  }

  close() {
    dc.unsubscribe('http.server.response.finish', this.#onFinish)
    dc.unsubscribe('net.server.socket', this.#onSocket)
  }
}

module.exports = { Watcher, routeOf, collapsePath, REQUEST, SOCKET }
