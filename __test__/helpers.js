'use strict'

// Shared by the tests: creating garbage where no register can keep it alive, and waiting for
// finalizers without sleeping.

const assert = require('node:assert/strict')

assert.equal(typeof global.gc, 'function', 'run the tests with node --expose-gc')

// Resolves after `n` turns of the event loop: finalizers run in the setImmediate phase.
async function tick(n = 1) {
  for (let i = 0; i < n; i++) await new Promise(setImmediate)
}

// Tracks `n` fresh objects under `key` from this function, keeping none of them.
function trackGarbage(tracker, key, n, make = () => ({})) {
  for (let i = 0; i < n; i++) tracker.track(key, make(i))
}

// Like trackGarbage, but the objects stay reachable from the returned array until the caller
// empties it (`held.length = 0`): counts read before that are not disturbed by an early scavenge.
function trackHeld(tracker, key, n, make = () => ({})) {
  const held = []
  for (let i = 0; i < n; i++) {
    held.push(make(i))
    tracker.track(key, held[i])
  }
  return held
}

// Collects until `done()` holds, with a bounded number of gc() + setImmediate rounds: one gc() does
// not always free everything, and events arrive a turn later.
async function collectUntil(done, rounds = 20) {
  for (let i = 0; i < rounds; i++) {
    global.gc()
    await tick(2)
    if (done()) return
  }
  assert.fail(`condition not reached after ${rounds} gc() rounds`)
}

// A plain object of counts per origin under `key`, without `_total`.
function origins(refs, key) {
  const { _total, ...byOrigin } = refs[key] ?? {}
  return byOrigin
}

module.exports = { tick, trackGarbage, trackHeld, collectUntil, origins }
