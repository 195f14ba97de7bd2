'use strict'

// Two leak hunts against real HTTP servers on 127.0.0.1, each making its own requests, then exiting.
//
// 1. The HTTP example of the original weak-tracker README, runnable: a server that leaks the object
//    it makes for every request to /leak. Prints which lines own live objects, frees the leak, and
//    shows the counts drop.
// 2. A slow leak under a steady stream of requests: collect(), diff() and suspects() name the one
//    leaking line among several that make objects on every request.
// 3. Who holds them: why() follows the references from a GC root to the leaking sessions, and names
//    the module-level array that keeps them.
// 4. The live page: a server under a steady stream of requests, one line of it leaking, and the page
//    that shows it, until Ctrl-C. (`--once` stops after part 3.)
//
//   npm run demo        (no --expose-gc needed: collect() forces the collections)

const http = require('node:http')
const wt = require(process.env.WEAK_TRACKER_PATH || '..')()

const leaked = []

function requestHandler(req, res) {
  const session = { url: req.url, at: Date.now() }
  wt.track('session', session)
  if (req.url === '/leak') leaked.push(session)
  const body = { ok: true }
  wt.track('body', body)
  res.end(JSON.stringify(body))
}

function get(port, path) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path }, (res) => {
        res.resume()
        res.on('end', resolve)
      })
      .on('error', reject)
  })
}

async function settle() {
  // Requests leave their objects reachable from sockets and timers for a moment: collect a few
  // times, letting the event loop turn in between.
  for (let i = 0; i < 3; i++) await wt.collect()
}

function show(title) {
  console.log(`\n${title}`)
  console.log(JSON.stringify(wt.refs, null, 2))
}

async function listen(handler) {
  const server = http.createServer(handler)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

async function originalExample() {
  let collected = 0
  wt.on('gc', () => collected++)
  const server = await listen(requestHandler)
  const { port } = server.address()
  for (let i = 0; i < 20; i++) await get(port, i % 4 === 0 ? '/leak' : '/fine')
  await new Promise((resolve) => server.close(resolve))
  await settle()
  show('After 20 requests, 5 of them to /leak: the live objects and the line that made them')
  leaked.length = 0
  await settle()
  show('After the leak is freed:')
  console.log(`\n'gc' events: ${collected}`)
  wt.removeAllListeners('gc')
}

// Part 2: an API server whose audit log keeps every 10th request's context forever.
const auditLog = []

function parseRequest(req) {
  const parsed = { method: req.method, path: req.url }
  wt.track('api', parsed)
  return parsed
}

function loadUser(request) {
  const user = { id: request.path.length, name: 'someone' }
  wt.track('api', user)
  return user
}

function audit(request, user, n) {
  const entry = { path: request.path, userId: user.id, at: Date.now() }
  wt.track('api', entry)
  if (n % 10 === 0) auditLog.push(entry) // the slow leak
}

let served = 0
function apiHandler(req, res) {
  const request = parseRequest(req)
  const user = loadUser(request)
  audit(request, user, ++served)
  res.end(JSON.stringify({ user: user.id }))
}

async function slowLeak() {
  const server = await listen(apiHandler)
  const { port } = server.address()
  const stream = async (requests) => {
    // Four clients, each sending one request after another.
    const client = async (n) => {
      for (let i = 0; i < n; i++) await get(port, `/api/${i}`)
    }
    await Promise.all([client(requests / 4), client(requests / 4), client(requests / 4), client(requests / 4)])
  }
  await stream(40) // warm up
  await wt.collect()
  const before = wt.snapshot()
  await stream(400)
  await new Promise((resolve) => setTimeout(resolve, 300))
  await new Promise((resolve) => server.close(resolve))
  await wt.collect()
  await wt.collect()
  console.log(`\nA slow leak under a steady stream: ${served} requests served, ${auditLog.length} kept by the audit log`)
  console.log('\ndiff() since the snapshot after warm-up:')
  for (const c of wt.diff(before)) console.log(`  ${c.delta > 0 ? '+' : ''}${c.delta} ${c.key} ${c.origin}`)
  console.log('\nsuspects({ olderThan: 250 }):')
  for (const s of wt.suspects({ olderThan: 250 })) {
    console.log(`  ${s.count} ${s.key} ${s.origin}, oldest ${s.oldestMs} ms`)
  }
}

// Part 3: a server whose session cache is never emptied.
const sessionCache = []

function sessionHandler(req, res) {
  const session = { url: req.url, user: `user-${sessionCache.length}` }
  wt.track('cached-session', session)
  sessionCache.push(session)
  res.end('ok')
}

async function whoHoldsThem() {
  const server = await listen(sessionHandler)
  const { port } = server.address()
  for (let i = 0; i < 10; i++) await get(port, `/login/${i}`)
  await settle()
  // While the server still listens, as a leak is looked at in a running app.
  const [site] = await wt.why('cached-session', { limit: 10 })
  await new Promise((resolve) => server.close(resolve))
  console.log(`\nwhy('cached-session'): ${site.live} live, ${site.explained} explained, ${site.paths.length} path shape(s)\n`)
  for (const path of site.paths) console.log(path.text)
}

// Part 4: a shop whose cart handler keeps every cart; the page shows its line rising.
const carts = []

function shopHandler(req, res) {
  // Rendering a page makes short-lived garbage, as real handlers do: young collections run often.
  const rendered = new Array(16_384).fill(req.url.length)
  const visit = { path: req.url, size: rendered.length }
  wt.track('visit', visit)
  if (req.url.startsWith('/cart')) {
    const cart = { items: req.url.length }
    wt.track('cart', cart)
    carts.push(cart) // the leak
  }
  const page = { status: 200 }
  wt.track('response', page)
  res.end('ok')
}

async function livePage() {
  const server = await listen(shopHandler)
  const { port } = server.address()
  const page = await wt.serve({ port: Number(process.env.WEAK_TRACKER_PAGE_PORT ?? 0) })
  console.log(`\nLive page: ${page.url}`)
  console.log(`The shop serves on http://127.0.0.1:${port}/; its /cart line leaks. Ctrl-C to stop.`)
  let n = 0
  const traffic = setInterval(() => {
    n++
    get(port, n % 3 === 0 ? `/cart/${n}` : `/browse/${n}`).catch(() => {})
  }, 50)
  const stop = () => {
    clearInterval(traffic)
    server.close()
    page.close().then(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

async function main() {
  await originalExample()
  await slowLeak()
  await whoHoldsThem()
  if (!process.argv.includes('--once')) await livePage()
}

main()
