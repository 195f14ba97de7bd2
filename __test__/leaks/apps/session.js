'use strict'

// Leak 1: express-session's default MemoryStore. With saveUninitialized, every request that comes
// without a cookie gets a new session, and the MemoryStore keeps each one (as a JSON string in its
// `sessions` object) until it expires: a day later with this cookie.
//
// Prints `{"port":P,"pid":N}` once it listens on 127.0.0.1; exits on 'stop' written to its stdin
// (lifecycle.js).

const { announce } = require('./lifecycle.js')
const express = require('express')
const session = require('express-session')

const app = express()
app.use(session({ secret: 'leak-fixture', resave: false, saveUninitialized: true, cookie: { maxAge: 86_400_000 } }))

app.get('/item/:id', (req, res) => {
  req.session.item = { id: req.params.id, seen: Date.now(), tags: ['a', 'b', 'c', 'd'] }
  res.type('text/plain').send('ok')
})

const server = app.listen(0, '127.0.0.1', () => announce(server.address().port))

