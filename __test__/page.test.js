'use strict'

// The live page's server side: what it serves, and what it refuses. (The page itself is driven
// in Chromium by __test__/integration/page.test.js.)

const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const { WeakTracker } = require('..')
const { trackHeld } = require('./helpers.js')

function request(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      if (res.headers['content-type'] === 'text/event-stream') {
        // Read the first events, then hang up.
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk) => {
          text += chunk
          if (text.includes('event: tables')) {
            res.destroy()
            resolve({ status: res.statusCode, type: res.headers['content-type'], body: text })
          }
        })
        return
      }
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body: text }))
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
  const label = history.labels.findIndex((l) => l.key === 'page-k')
  assert.ok(label >= 0)
  assert.equal(history.labels[label].thread, 0)
  assert.match(history.labels[label].origin, /^at trackHeld \(/)
  assert.ok(history.history.at(-1).counts.includes(label))
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
  // The first why is under way (its body still arriving) when the second comes: refused, not queued.
  let second
  const first = new Promise((resolve, reject) => {
    const req = http.request(new URL('why', page.url), { method: 'POST', agent: false, headers: { origin, 'content-type': 'application/json' } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode, body: text }))
    })
    req.on('error', reject)
    req.write('{"key":')
    setTimeout(async () => {
      second = await post({ origin }).catch(reject)
      req.end('"why-k"}')
    }, 100)
  })
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
  assert.equal((await request(`${local}?token=wrong-but-also-long-enough`)).status, 401)
  assert.equal((await request(`${local}?token=${token}`)).status, 200)
  assert.equal((await request(`${local}events`, { headers: { authorization: `Bearer ${token}` } })).status, 200)
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
