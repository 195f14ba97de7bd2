'use strict'

// Leak 4: a debug@4.1.1 logger created per request. debug 4.1 pushes every instance it creates
// onto its `instances` array (so that enable() can update them), and never removes it unless the
// instance's destroy() is called.
//
// Prints `{"port":P,"pid":N}` once it listens on 127.0.0.1; exits on 'stop' written to its stdin
// (lifecycle.js).

const { announce } = require('./lifecycle.js')
const http = require('node:http')
const createDebug = require('debug')

let next = 0

const server = http.createServer((req, res) => {
  const log = createDebug(`req:${next++}`)
  log('serving %s', req.url)
  res.setHeader('content-type', 'text/plain')
  res.end('ok')
})

server.listen(0, '127.0.0.1', () => announce(server.address().port))

