'use strict'

// node benchmark/memlab-app.js DIR   (used by benchmark/memlab.js)
//
// A small app with one leak, snapshotted three times: it handles "requests", each making a
// short-lived Request and a Session; a bounded cache of 100 recent sessions is fine, but every
// session also subscribes to a process-wide EventEmitter and never unsubscribes, so its Session
// lives on. Writes DIR/s1.heapsnapshot, s2 and s3 (memlab's names) after 200, 5,200 and 10,200
// requests, and prints { files, leaked } as JSON.

const path = require('node:path')
const v8 = require('node:v8')
const { EventEmitter } = require('node:events')

const dir = process.argv[2]
const bus = new EventEmitter()
bus.setMaxListeners(0)
const recent = new Map()
let served = 0

class Request {
  constructor(n) {
    this.url = `/items/${n}`
    this.headers = { accept: 'application/json', 'x-request-id': String(n) }
  }
}

class Session {
  constructor(n) {
    this.id = n
    this.user = `user${n % 50}`
    this.cart = [n, n + 1, n + 2]
    this.createdAt = Date.now()
  }
}

function handle(n) {
  const request = new Request(n)
  const session = new Session(n)
  recent.set(n, session)
  if (recent.size > 100) recent.delete(recent.keys().next().value)
  // The leak: a listener per session, never removed.
  bus.on('config', () => session.cart.push(request.url.length))
  served++
}

function serve(upTo) {
  while (served < upTo) handle(served)
}

// Each snapshot is taken 100 ms after a burst of requests, as a server would be caught between
// them: nothing of the request loop is left on the stack, and V8's optimizing compiler has had
// time to finish the jobs that hold app objects from (Strong roots) meanwhile.
const files = []
const plan = [200, 5_200, 10_200]
function next(i) {
  if (i === plan.length) {
    process.stdout.write(JSON.stringify({ files, leaked: bus.listenerCount('config') }))
    return
  }
  serve(plan[i])
  setTimeout(() => {
    const file = path.join(dir, `s${i + 1}.heapsnapshot`)
    v8.writeHeapSnapshot(file)
    files.push(file)
    next(i + 1)
  }, 100)
}

module.exports = { handle }
next(0)
