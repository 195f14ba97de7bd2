'use strict'

// The app of benchmark/register.js: a small Express JSON API that leaks nothing, run with and
// without `--require weak-tracker/register`. It measures itself: CPU time and the longest event-loop
// pause (perf_hooks' event-loop delay histogram, 10 ms resolution), printed as JSON on 'SIGTERM'.

const express = require('express')
const { monitorEventLoopDelay } = require('node:perf_hooks')

const app = express()
const items = new Map()
for (let i = 0; i < 1000; i++) items.set(String(i), { id: i, name: `item ${i}`, tags: ['a', 'b', 'c'] })

app.get('/item/:id', (req, res) => {
  const item = items.get(req.params.id)
  if (item === undefined) return res.status(404).json({ error: 'no such item' })
  res.json({ ...item, at: Date.now(), related: [item.id + 1, item.id + 2] })
})

const delay = monitorEventLoopDelay({ resolution: 10 })
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`)
  delay.enable()
})
let cpu = null
process.stdin.on('data', (data) => {
  const text = String(data)
  // 'start' after the warm-up: CPU and pauses count from here.
  if (text.includes('start')) {
    cpu = process.cpuUsage()
    delay.reset()
  }
  if (text.includes('stop')) {
    const used = process.cpuUsage(cpu)
    process.stdout.write(`${JSON.stringify({ cpuUs: used.user + used.system, maxPauseMs: delay.max / 1e6 })}\n`)
    process.exit(0)
  }
})
