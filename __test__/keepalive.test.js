'use strict'

// The tracker must never be the reason an object stays alive, whatever else the program does
// with the tracker; and a tracker nobody references any more must go away itself.

const test = require('node:test')
const assert = require('node:assert/strict')
const { WeakTracker } = require('..')
const { tick, collectUntil } = require('./helpers.js')

// Tracks one object with `use(tracker, obj)` and returns a JS WeakRef to it; the object is
// reachable from nothing else once this returns.
function trackOne(tracker, use) {
  const obj = { payload: new Array(16).fill(0) }
  use(tracker, obj)
  return new WeakRef(obj)
}

const paths = {
  'tracked once': (wt, obj) => wt.track('k', obj),
  'tracked twice under one key': (wt, obj) => {
    wt.track('k', obj)
    wt.track('k', obj)
  },
  'tracked under several keys': (wt, obj) => {
    wt.track('a', obj)
    wt.track('b', obj)
    wt.track('c', obj)
  },
  'refs read after tracking': (wt, obj) => {
    wt.track('k', obj)
    assert.equal(wt.refs.k._total >= 1, true)
  },
  "with 'ref' and 'gc' listeners": (wt, obj) => {
    wt.on('ref', () => {})
    wt.on('gc', () => {})
    wt.track('k', obj)
  },
  'tracked by several trackers': (wt, obj) => {
    wt.track('k', obj)
    WeakTracker().track('k', obj)
  },
  // The captured caller frame holds its receiver: here, the tracked object itself.
  'tracking itself from its own method': (wt, obj) => {
    obj.register = function register(tracker) {
      tracker.track('k', this)
    }
    obj.register(wt)
  },
}

for (const [name, use] of Object.entries(paths)) {
  test(`an object ${name} is collected by gc()`, async () => {
    const wt = WeakTracker()
    const ref = trackOne(wt, use)
    // A JS WeakRef keeps its target until the current job ends: let it end first.
    await tick()
    await collectUntil(() => ref.deref() === undefined)
    assert.equal(wt.refs.k, undefined)
  })
}

// Makes a tracker that tracks `kept` and one garbage object, and returns only a WeakRef to it.
function abandonedTracker(kept, events) {
  const wt = WeakTracker()
  wt.on('gc', () => events.push('gc'))
  for (const obj of kept) wt.track('kept', obj)
  wt.track('garbage', {})
  return new WeakRef(wt)
}

test('a dropped tracker is collected while its objects live, and their later collection is harmless', async () => {
  let kept = Array.from({ length: 1000 }, (_, i) => ({ i }))
  const events = []
  const trackerRef = abandonedTracker(kept, events)
  await tick()
  await collectUntil(() => trackerRef.deref() === undefined)
  const keptRef = new WeakRef(kept[0])
  kept = null
  await tick()
  await collectUntil(() => keptRef.deref() === undefined)
  // More collections and turns for any finalizer left over: no crash, no event on a dead tracker.
  for (let i = 0; i < 3; i++) {
    global.gc()
    await tick(2)
  }
  assert.ok(events.length <= 1, `at most the garbage object's event before the tracker went: ${events}`)
})

test('the shared tracker stays alive, and so do its listeners, while nothing else references it', async () => {
  let events = 0
  function setUp() {
    const wt = require('..')()
    wt.on('gc', () => events++)
    for (let i = 0; i < 10; i++) wt.track('shared-garbage', {})
  }
  setUp()
  await collectUntil(() => events >= 10)
})
