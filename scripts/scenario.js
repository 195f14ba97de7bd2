'use strict'

// A user's first program with weak-tracker, run from a project that installed the packed tarball:
// track, collect, read exact refs, receive 'gc' events. Prints what it saw as JSON.

const weakTracker = require('weak-tracker')

const wt = weakTracker()
const seen = []
wt.on('gc', (key, origin) => seen.push([key, origin]))

const kept = []
// Every request is held until the first read, so that no early collection changes `before`.
const held = []
function makeRequests() {
  for (let i = 0; i < 10; i++) {
    const request = { i }
    wt.track('request', request)
    held.push(request)
    if (i < 3) kept.push(request)
  }
}
makeRequests()
const before = wt.refs
held.length = 0
global.gc()
const after = wt.refs

function settle(rounds) {
  if (seen.length >= 7 || rounds === 0) {
    const loadedFrom = require.resolve('weak-tracker')
    process.stdout.write(
      JSON.stringify({
        node: process.version,
        arch: process.arch,
        // The native binary that require loaded (addons are cached by their path).
        binary: Object.keys(require.cache).find((file) => file.endsWith('.node')),
        napi: process.versions.napi,
        loadedFrom,
        before,
        after,
        events: seen.length,
        eventOrigins: [...new Set(seen.map(([, origin]) => origin))],
        eventKeys: [...new Set(seen.map(([key]) => key))],
        kept: kept.length,
      }),
    )
    return
  }
  global.gc()
  setImmediate(settle, rounds - 1)
}
setImmediate(settle, 20)
