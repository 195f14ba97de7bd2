'use strict'

// The live page's server side: what it serves, and what it refuses. (The page itself is driven
// in Chromium by __test__/integration/page.test.js.)

const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const https = require('node:https')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { once } = require('node:events')
const { execFileSync } = require('node:child_process')
const { Worker } = require('node:worker_threads')
const { WeakTracker } = require('..')
const { trackHeld } = require('./helpers.js')

function request(url, { method = 'GET', headers = {}, body, client = http, ...options } = {}) {
  return new Promise((resolve, reject) => {
    const req = client.request(url, { method, headers, agent: false, ...options }, (res) => {
      if (res.headers['content-type'] === 'text/event-stream') {
        // Read the first events, then hang up.
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk) => {
          text += chunk
          if (text.includes('event: tables')) {
            res.destroy()
            resolve({ status: res.statusCode, type: res.headers['content-type'], headers: res.headers, body: text })
          }
        })
        return
      }
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], headers: res.headers, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

test('serve() listens on 127.0.0.1 on a free port and serves the page, its script, and the live events', async (t) => {
  const wt = WeakTracker()
  const held = trackHeld(wt, 'page-k', 3)
  const page = await wt.serve()
  t.after(() => page.close())
  assert.match(page.url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
  const html = await request(page.url)
  assert.equal(html.status, 200)
  assert.match(html.type, /^text\/html/)
  assert.match(html.body, /<script src="app.js"><\/script>/)
  assert.doesNotMatch(html.body, /https?:\/\/(?!127)/, 'nothing from elsewhere: no CDN')
  assert.equal((await request(new URL('app.js', page.url))).status, 200)
  const events = await request(new URL('events', page.url))
  assert.equal(events.type, 'text/event-stream')
  const history = JSON.parse(events.body.match(/^event: history\ndata: (.*)$/m)[1])
  const [id, label] = history.labels.find(([, l]) => l.key === 'page-k')
  assert.equal(label.thread, 0)
  assert.equal(history.thread, 0, 'the thread the page runs in')
  assert.match(label.origin, /^at trackHeld \(/)
  assert.ok(history.history.at(-1).counts.includes(id))
  assert.equal(held.length, 3)
})

test('why is a same-origin POST: other origins are refused, and a second one while one runs gets 409', async (t) => {
  const wt = WeakTracker()
  const held = trackHeld(wt, 'why-k', 2)
  globalThis.__pageTestHeld = held
  t.after(() => delete globalThis.__pageTestHeld)
  const page = await wt.serve()
  t.after(() => page.close())
  const origin = page.url.replace(/\/$/, '')
  const body = JSON.stringify({ key: 'why-k' })
  const post = (headers) => request(new URL('why', page.url), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })
  assert.equal((await post({})).status, 403, 'no Origin')
  assert.equal((await post({ origin: 'http://evil.example' })).status, 403)
  assert.equal((await request(new URL('why', page.url))).status, 404, 'not a GET')
  // The first why is under way (held at its start by the gate below) when the second comes:
  // refused, not queued.
  const why = wt.why
  let started
  const running = new Promise((resolve) => (started = resolve))
  let open
  const gate = new Promise((resolve) => (open = resolve))
  wt.why = async (...args) => {
    started()
    await gate
    wt.why = why
    return why.apply(wt, args)
  }
  const first = post({ origin })
  await running
  const second = await post({ origin })
  open()
  const done = await first
  assert.equal(second.status, 409)
  assert.match(JSON.parse(second.body).error, /only one at a time/)
  assert.equal(done.status, 200)
  const answer = JSON.parse(done.body)
  assert.equal(answer[0].key, 'why-k')
  assert.equal(answer[0].explained, 2)
  assert.match(answer[0].paths[0].text, /__pageTestHeld \(property\)/)
  assert.equal((await post({ origin })).status, 200, 'free again once the first is done')
  const bad = await request(new URL('why', page.url), { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: '{"key": 5}' })
  assert.equal(bad.status, 400)
})

test('a host beyond loopback is refused without a token; with one, every request must carry it', async (t) => {
  const wt = WeakTracker()
  await assert.rejects(wt.serve({ host: '0.0.0.0' }), { code: 'ERR_WEAK_TRACKER_PAGE_UNSAFE' })
  await assert.rejects(wt.serve({ host: '::' }), { code: 'ERR_WEAK_TRACKER_PAGE_UNSAFE' })
  const token = 'a-long-enough-secret-token'
  const page = await wt.serve({ host: '0.0.0.0', token })
  t.after(() => page.close())
  const url = new URL(page.url)
  assert.equal(url.searchParams.get('token'), token)
  const local = `http://127.0.0.1:${url.port}/`
  assert.equal((await request(local)).status, 401)
  assert.equal((await request(`${local}app.js`)).status, 401)
  assert.equal((await request(`${local}?token=wrong-but-also-long-enough`)).status, 401)
  assert.equal((await request(`${local}events`, { headers: { authorization: `Bearer ${token}` } })).status, 200)
  assert.equal((await request(`${local}events?token=${token}`)).status, 200)
})

test("with a token, the page's address trades it for a cookie and drops it from the address bar", async (t) => {
  const wt = WeakTracker()
  const token = 'a-long-enough-secret-token'
  const page = await wt.serve({ token })
  t.after(() => page.close())
  const url = new URL(page.url)
  const local = `http://127.0.0.1:${url.port}/`
  const entry = await request(`${local}?token=${token}`)
  assert.equal(entry.status, 303)
  assert.equal(entry.headers.location, '/')
  assert.equal(entry.headers['referrer-policy'], 'no-referrer')
  const [cookie] = entry.headers['set-cookie']
  assert.match(cookie, /^weak-tracker-page-[0-9a-f]+=[0-9a-f]{64}; Path=\/; HttpOnly; SameSite=Strict$/)
  assert.ok(!cookie.includes(token), 'the cookie is not the token itself')
  const session = cookie.split(';')[0]
  for (const route of ['', 'app.js', 'style.css', 'events']) {
    assert.equal((await request(`${local}${route}`, { headers: { cookie: `other=1; ${session}` } })).status, 200, `/${route} with the cookie`)
  }
  const forged = session.replace(/=[0-9a-f]/, (m) => (m === '=0' ? '=1' : '=0'))
  assert.equal((await request(local, { headers: { cookie: forged } })).status, 401)
  // Another page of the same app (another token) has a cookie of its own name.
  const other = await wt.serve({ token: 'another-long-enough-token' })
  t.after(() => other.close())
  const [otherCookie] = (await request(other.url)).headers['set-cookie']
  assert.notEqual(otherCookie.split('=')[0], session.split('=')[0])
})

test('pageHandler() mounts the page under a prefix of an existing server, and passes other requests on', async (t) => {
  const wt = WeakTracker()
  const handler = wt.pageHandler({ prefix: '/leaks' })
  const server = http.createServer((req, res) => {
    handler(req, res, () => res.end('the app'))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    handler.close()
    server.close()
  })
  const base = `http://127.0.0.1:${server.address().port}`
  assert.match((await request(`${base}/leaks/`)).body, /<title>weak-tracker/)
  assert.equal((await request(`${base}/leaks/app.js`)).status, 200)
  assert.equal((await request(`${base}/shop`)).body, 'the app')
})

test('bad page options are refused in Node form', async () => {
  const wt = WeakTracker()
  await assert.rejects(wt.serve(5), { code: 'ERR_INVALID_ARG_TYPE', message: 'The "options" argument must be of type object. Received type number (5)' })
  await assert.rejects(wt.serve({ port: -1 }), { code: 'ERR_OUT_OF_RANGE' })
  await assert.rejects(wt.serve({ port: '80' }), { code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(wt.serve({ token: 'short' }), { code: 'ERR_OUT_OF_RANGE', message: 'The value of "options.token" is out of range. It must be at least 16 characters long. Received \'(hidden)\'' })
  assert.throws(() => wt.pageHandler({ prefix: 1 }), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('an empty token is refused, not taken as no token', async () => {
  const wt = WeakTracker()
  const empty = { code: 'ERR_INVALID_ARG_VALUE', message: "The property 'options.token' must not be empty. Received ''" }
  assert.throws(() => wt.pageHandler({ token: '' }), empty)
  await assert.rejects(wt.serve({ token: '' }), empty)
  assert.throws(() => wt.pageHandler({ token: 'short' }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => wt.pageHandler({ token: 5 }), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => wt.pageHandler({ prefix: 'leaks' }), { code: 'ERR_INVALID_ARG_VALUE', message: "The property 'options.prefix' must start with '/'. Received 'leaks'" })
})

// A plain node:http server with `handler` in it, on 127.0.0.1; `app` answers what the page does not.
async function mounted(t, handler, { app = (req, res) => res.end('the app'), create = http.createServer, options = {} } = {}) {
  const sockets = []
  const requests = []
  const server = create(options, (req, res) => {
    requests.push(req)
    handler(req, res, () => app(req, res))
  })
  server.on('connection', (socket) => sockets.push(socket))
  server.on('secureConnection', (socket) => sockets.push(socket))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    handler.close()
    server.closeAllConnections()
    server.close()
  })
  return { server, sockets, requests, port: server.address().port }
}

test('a prefix owns /leaks and /leaks/… only, and /leaks redirects to /leaks/', async (t) => {
  const wt = WeakTracker()
  const { port } = await mounted(t, wt.pageHandler({ prefix: '/leaks' }))
  const base = `http://127.0.0.1:${port}`
  assert.equal((await request(`${base}/leaks-report`)).body, 'the app')
  assert.equal((await request(`${base}/leaksapp.js`)).body, 'the app')
  const bare = await request(`${base}/leaks`)
  assert.equal(bare.status, 308)
  assert.equal(bare.headers.location, '/leaks/')
  assert.equal((await request(`${base}/leaks?x=1`)).headers.location, '/leaks/?x=1')
  assert.match((await request(`${base}/leaks/`)).body, /<title>weak-tracker/)
  assert.equal((await request(`${base}/leaks/nothing`)).status, 404)
  // A trailing slash in the option means the same.
  const slashed = await mounted(t, wt.pageHandler({ prefix: '/leaks/' }))
  assert.equal((await request(`http://127.0.0.1:${slashed.port}/leaks`)).headers.location, '/leaks/')
  assert.equal((await request(`http://127.0.0.1:${slashed.port}/leaks-report`)).body, 'the app')
  // Mounted the way Express's app.use('/leaks', handler) does it: req.url without the mount path,
  // req.originalUrl with it.
  const stripped = wt.pageHandler({})
  const mount = (req, res, next) => {
    if (req.url !== '/leaks' && !req.url.startsWith('/leaks/')) return next()
    req.originalUrl = req.url
    req.url = req.url.slice('/leaks'.length) || '/'
    stripped(req, res, next)
  }
  mount.close = stripped.close
  const express = await mounted(t, mount)
  const expressBase = `http://127.0.0.1:${express.port}`
  assert.equal((await request(`${expressBase}/leaks`)).headers.location, '/leaks/')
  assert.match((await request(`${expressBase}/leaks/`)).body, /<title>weak-tracker/)
})

test('without a token, only the names the server is bound to are answered: a rebound name gets nothing', async (t) => {
  const wt = WeakTracker()
  const held = trackHeld(wt, 'host-k', 1)
  const page = await wt.serve()
  t.after(() => page.close())
  const { port } = new URL(page.url)
  const evil = { host: `evil.example:${port}`, origin: `http://evil.example:${port}` }
  assert.equal((await request(new URL('events', page.url), { headers: evil })).status, 403)
  assert.equal((await request(page.url, { headers: evil })).status, 403)
  const why = await request(new URL('why', page.url), { method: 'POST', headers: { ...evil, 'content-type': 'application/json' }, body: '{"key":"host-k"}' })
  assert.equal(why.status, 403)
  assert.equal((await request(new URL('baseline', page.url), { method: 'POST', headers: evil })).status, 403)
  for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, 'LOCALHOST', `[::1]:${port}`]) {
    assert.equal((await request(page.url, { headers: { host } })).status, 200, host)
  }
  // The configured host is answered too.
  const named = await wt.serve({ host: 'localhost' })
  t.after(() => named.close())
  const namedPort = new URL(named.url).port
  assert.equal((await request(`http://localhost:${namedPort}/`)).status, 200)
  // With a token the name does not matter: a rebound page does not know the token.
  const token = 'a-long-enough-secret-token'
  const guarded = await wt.serve({ token })
  t.after(() => guarded.close())
  const guardedPort = new URL(guarded.url).port
  assert.equal((await request(`http://127.0.0.1:${guardedPort}/events`, { headers: { host: `evil.example:${guardedPort}` } })).status, 401)
  assert.equal((await request(`http://127.0.0.1:${guardedPort}/events`, { headers: { host: `other.example:${guardedPort}`, authorization: `Bearer ${token}` } })).status, 200)
  assert.equal(held.length, 1)
})

// A self-signed certificate for 127.0.0.1, made now (test-only: it lives in a temporary directory).
function selfSigned(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weak-tracker-page-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const key = path.join(dir, 'key.pem')
  const cert = path.join(dir, 'cert.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
  return { key: fs.readFileSync(key), cert: fs.readFileSync(cert) }
}

let openssl = true
try {
  execFileSync('openssl', ['version'], { stdio: 'ignore' })
} catch {
  openssl = false
}

test("inside an https server, the page's own POSTs are same-origin", { skip: openssl ? false : 'no openssl here to make a test certificate' }, async (t) => {
  const wt = WeakTracker()
  const held = trackHeld(wt, 'tls-k', 1)
  const credentials = selfSigned(t)
  const { port } = await mounted(t, wt.pageHandler({}), { create: https.createServer, options: credentials })
  const base = `https://127.0.0.1:${port}`
  const post = (route, origin) =>
    request(`${base}/${route}`, { client: https, ca: credentials.cert, method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: '{"key":"tls-k"}' })
  assert.equal((await post('baseline', base)).status, 200)
  const why = await post('why', base)
  assert.equal(why.status, 200)
  assert.equal(JSON.parse(why.body)[0].key, 'tls-k')
  assert.equal((await post('why', `http://evil.example:${port}`)).status, 403)
  assert.equal((await post('why', `https://evil.example:${port}`)).status, 403)
  assert.equal(held.length, 1)
})

// Sends `chunks` chunks of 64 KiB of spaces to POST /why, without a Content-Length (chunked), and
// resolves with the response's status or the error that ended the request.
function postHuge(url, origin, chunks) {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { origin, 'content-type': 'application/json' } }, (res) => {
      res.resume()
      resolve({ status: res.statusCode })
    })
    req.on('error', (error) => resolve({ error: error.code }))
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    let left = chunks
    const write = () => {
      while (left > 0) {
        left--
        if (!req.write(chunk)) {
          req.once('drain', write)
          return
        }
      }
      req.end()
    }
    write()
  })
}

test('a body over 64 KiB is refused at the limit: the server stops reading it and closes the request', { timeout: 30_000 }, async (t) => {
  const wt = WeakTracker()
  const { sockets, port } = await mounted(t, wt.pageHandler({}))
  const base = `http://127.0.0.1:${port}`
  // 64 MiB offered; the server must not read (let alone keep) more than a little past the limit.
  const huge = await postHuge(`${base}/why`, base, 1024)
  assert.ok(huge.status === 413 || huge.error === 'ECONNRESET' || huge.error === 'EPIPE', JSON.stringify(huge))
  const [socket] = sockets
  if (!socket.destroyed) await once(socket, 'close')
  assert.ok(socket.bytesRead < 16 * 2 ** 20, `the server read ${socket.bytesRead} bytes`)
  // A Content-Length over the limit is refused before any of the body is read.
  const declared = await new Promise((resolve, reject) => {
    const req = http.request(`${base}/why`, { method: 'POST', agent: false, headers: { origin: base, 'content-length': String(300 * 2 ** 20) } }, (res) => {
      res.resume()
      resolve(res.statusCode)
      req.destroy()
    })
    req.on('error', reject)
    req.write('{')
  })
  assert.equal(declared, 413)
})

test('a client trickling its body holds no lock: another why runs meanwhile, and the slow body times out', { timeout: 30_000 }, async (t) => {
  const wt = WeakTracker()
  const held = trackHeld(wt, 'trickle-k', 1)
  const { requests, port } = await mounted(t, wt.pageHandler({}))
  const base = `http://127.0.0.1:${port}`
  const slow = new Promise((resolve) => {
    const req = http.request(`${base}/why`, { method: 'POST', agent: false, headers: { origin: base, 'content-type': 'application/json' } }, (res) => {
      res.resume()
      resolve({ status: res.statusCode })
    })
    req.on('error', (error) => resolve({ error: error.code }))
    req.write('{"key":')
    t.after(() => req.destroy())
  })
  while (requests.length === 0) await new Promise(setImmediate)
  const other = await request(`${base}/why`, { method: 'POST', headers: { origin: base, 'content-type': 'application/json' }, body: '{"key":"trickle-k"}' })
  assert.equal(other.status, 200)
  assert.equal(JSON.parse(other.body)[0].key, 'trickle-k')
  const result = await slow
  assert.ok(result.status === 408 || result.error === 'ECONNRESET', JSON.stringify(result))
  assert.equal(held.length, 1)
})

// Resolves with the labels of the page's series once `found(labels)` holds (a worker publishes its
// counts after its next turn).
async function labelsWhen(pageUrl, found) {
  for (let i = 0; i < 200; i++) {
    const events = await request(new URL('events', pageUrl))
    const { labels, thread } = JSON.parse(events.body.match(/^event: history\ndata: (.*)$/m)[1])
    const rows = labels.map(([, label]) => label)
    if (found(rows)) return { rows, thread }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error('the row never showed up')
}

test('why on a row of another thread or tracker says which it is and why the page cannot explain it there', async (t) => {
  const wt = WeakTracker()
  const page = await wt.serve()
  t.after(() => page.close())
  const worker = new Worker(
    `const { WeakTracker } = require(${JSON.stringify(path.join(__dirname, '..'))})
    const wt = WeakTracker()
    globalThis.kept = []
    for (let i = 0; i < 3; i++) { const o = {}; globalThis.kept.push(o); wt.track('worker-k', o) }
    require('node:worker_threads').parentPort.postMessage('ready')
    setInterval(() => {}, 1000)`,
    { eval: true },
  )
  t.after(() => worker.terminate())
  await once(worker, 'message')
  const { rows, thread } = await labelsWhen(page.url, (rows) => rows.some((r) => r.key === 'worker-k'))
  assert.equal(thread, 0, "the page says which thread it runs in")
  const row = rows.find((r) => r.key === 'worker-k')
  assert.equal(row.thread, worker.threadId)
  const origin = page.url.replace(/\/$/, '')
  const post = (body) => request(new URL('why', page.url), { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const there = await post({ key: 'worker-k', origin: row.origin, thread: row.thread })
  assert.equal(there.status, 422)
  const answer = JSON.parse(there.body)
  assert.equal(answer.code, 'ERR_WEAK_TRACKER_OTHER_THREAD')
  assert.match(answer.error, new RegExp(`^worker ${worker.threadId}: a heap snapshot shows only the heap of the thread that takes it, and this page runs on the main thread\\. Call why\\("worker-k"\\) on the tracker in worker ${worker.threadId}`))

  // Another tracker of this thread: its objects are live here, but not the page's tracker's.
  const other = WeakTracker()
  const held = trackHeld(other, 'other-k', 2)
  const { rows: now } = await labelsWhen(page.url, (rows) => rows.some((r) => r.key === 'other-k'))
  const mine = now.find((r) => r.key === 'other-k')
  const elsewhere = await post({ key: 'other-k', origin: mine.origin, thread: 0 })
  assert.equal(elsewhere.status, 422)
  assert.equal(JSON.parse(elsewhere.body).code, 'ERR_WEAK_TRACKER_OTHER_TRACKER')
  assert.match(JSON.parse(elsewhere.body).error, /another WeakTracker of this thread/)
  assert.equal((await post({ key: 'other-k', thread: 'main' })).status, 400, 'thread is a number')
  assert.equal(held.length, 2)
})
