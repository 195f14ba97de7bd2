'use strict'

// Leak 3: a setInterval started per request inside AsyncLocalStorage.run and never cleared. The
// timer list keeps every Timeout, and each Timeout keeps the store it was created in.
//
// Prints `{"port":P,"pid":N}` once it listens on 127.0.0.1; exits on 'stop' written to its stdin
// (lifecycle.js).

const { announce } = require('./lifecycle.js')
const http = require('node:http')
const { AsyncLocalStorage } = require('node:async_hooks')

const context = new AsyncLocalStorage()

function refresh() {
  const store = context.getStore()
  if (store !== undefined) store.refreshed = Date.now()
}

const server = http.createServer((req, res) => {
  const store = { url: req.url, started: Date.now(), rows: new Array(24).fill(0) }
  context.run(store, () => {
    setInterval(refresh, 3_600_000)
    res.setHeader('content-type', 'text/plain')
    res.end('ok')
  })
})

server.listen(0, '127.0.0.1', () => announce(server.address().port))

