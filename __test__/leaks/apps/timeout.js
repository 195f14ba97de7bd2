'use strict'

// Leak 5: a 'timeout' listener added per request to the request's socket. Over keep-alive the
// socket outlives the request, so the listeners (each holding its request's details) pile up on
// the socket's `_events.timeout`.
//
// Prints `{"port":P,"pid":N}` once it listens on 127.0.0.1; exits on 'stop' written to its stdin
// (lifecycle.js).

const { announce } = require('./lifecycle.js')
const fastify = require('fastify')({ logger: false })

const slow = []

fastify.get('/item/:id', async (request) => {
  const details = { id: request.params.id, started: Date.now(), rows: new Array(24).fill(0) }
  request.raw.socket.on('timeout', () => slow.push(details.id))
  return { ok: true }
})

fastify.listen({ port: 0, host: '127.0.0.1' }).then(() => announce(fastify.server.address().port))

