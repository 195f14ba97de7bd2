'use strict'

// The HTTP example of the original weak-tracker README, runnable: a server that leaks the object it
// makes for every request to /leak, and tracks both kinds. It makes its own requests on
// 127.0.0.1, prints which lines still own live objects, frees the leak, and exits.
//
//   npm run demo

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
  for (let i = 0; i < 5; i++) {
    global.gc()
    await new Promise(setImmediate)
  }
}

function show(title) {
  console.log(`\n${title}`)
  console.log(JSON.stringify(wt.refs, null, 2))
}

async function main() {
  if (typeof global.gc !== 'function') throw new Error('run with node --expose-gc')
  let collected = 0
  wt.on('gc', () => collected++)
  const server = http.createServer(requestHandler)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  for (let i = 0; i < 20; i++) await get(port, i % 4 === 0 ? '/leak' : '/fine')
  await new Promise((resolve) => server.close(resolve))
  await settle()
  show('After 20 requests, 5 of them to /leak: the live objects and the line that made them')
  leaked.length = 0
  await settle()
  show('After the leak is freed:')
  console.log(`\n'gc' events: ${collected}`)
}

main()
