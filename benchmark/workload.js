'use strict'

// The tracked workload: objects made at 8 call sites under 4 keys, each `track` call 4 frames
// below the app's entry point (app -> handle -> service -> store -> site).

const KEYS = ['session', 'request', 'buffer', 'cache']

function site0(t, key) { t.track(key, { site: 0 }) }
function site1(t, key) { t.track(key, { site: 1 }) }
function site2(t, key) { t.track(key, { site: 2 }) }
function site3(t, key) { t.track(key, { site: 3 }) }
function site4(t, key) { t.track(key, { site: 4 }) }
function site5(t, key) { t.track(key, { site: 5 }) }
function site6(t, key) { t.track(key, { site: 6 }) }
function site7(t, key) { t.track(key, { site: 7 }) }
const SITES = [site0, site1, site2, site3, site4, site5, site6, site7]

function store(t, i) { SITES[i & 7](t, KEYS[i & 3]) }
function service(t, i) { store(t, i) }
function handle(t, i) { service(t, i) }

// Tracks `n` objects starting at index `from`; none is kept.
function app(t, from, n) {
  for (let i = from; i < from + n; i++) handle(t, i)
}

// A tracker that keeps each object it is given alive, around another tracker.
function keeping(t, kept) {
  return {
    track(key, obj) {
      kept.push(obj)
      t.track(key, obj)
    },
  }
}

module.exports = { app, keeping, KEYS }
