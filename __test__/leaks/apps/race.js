'use strict'

// Leak 2: Promise.race against a promise that never settles (nodejs/node#17469). `shutdown`
// settles only when the process is told to stop, so each race adds a reaction to it, and that
// reaction holds the race's own promise, whose value is the request's job.
//
// Prints `{"port":P,"pid":N}` once it listens on 127.0.0.1; exits on 'stop' written to its stdin
// (lifecycle.js).

const { announce } = require('./lifecycle.js')
const http = require('node:http')

const shutdown = new Promise((resolve) => process.once('SIGHUP', resolve))

async function work(job) {
  await null
  job.done = Date.now()
  return job
}

async function handle(req) {
  const job = { url: req.url, started: Date.now(), rows: new Array(24).fill(0) }
  return Promise.race([work(job), shutdown])
}

const server = http.createServer((req, res) => {
  handle(req).then(() => {
    res.setHeader('content-type', 'text/plain')
    res.end('ok')
  })
})

server.listen(0, '127.0.0.1', () => announce(server.address().port))

