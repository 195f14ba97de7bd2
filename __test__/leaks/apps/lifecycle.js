'use strict'

// What every leak app shares: it prints `{"port":P,"pid":N}` once it listens on 127.0.0.1, and exits
// (process.exit, with its leak still held) on 'stop' written to its stdin.

function announce(port) {
  process.stdout.write(`${JSON.stringify({ port, pid: process.pid })}\n`)
}

process.stdin.on('data', (data) => {
  if (String(data).includes('stop')) process.exit(0)
})

module.exports = { announce }
