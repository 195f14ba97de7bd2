'use strict'

// The canary's promise, tested on the native layer directly: while the canary lives, no tracked
// object has been collected, so a sweep that the canary skips would have found nothing. A forced
// sweep right after a gated one must therefore always find nothing, through scavenges,
// mark-compacts and incremental marking started by allocation alone.

const test = require('node:test')
const assert = require('node:assert/strict')
const native = require('../binding.js')

let seed = 7
function random(n) {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed % n
}

// Tracks `n` objects, keeping about one in `keepOneIn` of them in `kept`.
function trackSome(books, site, n, kept, keepOneIn) {
  for (let i = 0; i < n; i++) {
    const obj = { i, pad: new Array(random(8)) }
    if (random(keepOneIn) === 0) kept.push(obj)
    native.track(books, site, obj)
  }
}

// Allocates garbage, enough to start scavenges and, now and then, incremental marking.
function churn(bytes) {
  let chain = null
  for (let i = 0; i < bytes / 64; i++) chain = { next: i % 100 === 0 ? null : chain, i }
  return chain !== null
}

test('a forced sweep right after a canary-gated sweep never finds a collected object', () => {
  const books = native.createTracker({}, () => {}, 0, 1)
  const site = native.openSite(books, 'k', 'at test')
  let kept = []
  let gatedFound = 0
  for (let round = 0; round < 400; round++) {
    trackSome(books, site, 200 + random(800), kept, 4)
    churn(random(4) === 0 ? 4_000_000 : 200_000)
    if (random(5) === 0) kept = kept.filter(() => random(2) === 0)
    if (round % 97 === 0) global.gc()
    gatedFound += native.sweep(books)
    assert.equal(native.sweep(books, true), 0, `round ${round}: the canary missed a collection`)
    assert.equal(native.live(books), native.counts(books)[site])
  }
  assert.ok(gatedFound > 0, 'the gated sweeps did find collections')
  // The objects still in `kept` were tracked once each and never let go: every one of them is
  // still counted, and once a full collection has run, nothing else is.
  assert.ok(native.live(books) >= kept.length, `${native.live(books)} live, ${kept.length} kept`)
  for (let i = 0; i < 5 && native.live(books) !== kept.length; i++) {
    global.gc()
    native.sweep(books, true)
  }
  assert.equal(native.live(books), kept.length)
})

test('a gated sweep finds nothing to do while no collection has run', () => {
  const books = native.createTracker({}, () => {}, 0, 1)
  const site = native.openSite(books, 'k', 'at test')
  const kept = [{}, {}, {}]
  for (const obj of kept) native.track(books, site, obj)
  global.gc()
  native.sweep(books)
  assert.equal(native.sweep(books), 0)
  assert.equal(native.live(books), 3)
})
