'use strict'

// Leak 6: lru-cache@6 without `max`, which then means no bound at all: every entry stays in the
// cache's Map (and its list).
//
// Prints `{"port":P,"pid":N}` once it listens on 127.0.0.1; exits on 'stop' written to its stdin
// (lifecycle.js).

const { announce } = require('./lifecycle.js')
const http = require('node:http')
const LRU = require('lru-cache')

const cache = new LRU()

const server = http.createServer((req, res) => {
  let entry = cache.get(req.url)
  if (entry === undefined) {
    entry = { url: req.url, started: Date.now(), rows: new Array(24).fill(0) }
    cache.set(req.url, entry)
  }
  res.setHeader('content-type', 'text/plain')
  res.end('ok')
})

server.listen(0, '127.0.0.1', () => announce(server.address().port))

