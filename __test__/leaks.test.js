'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { setTimeout: sleep } = require('node:timers/promises')
const { WeakTracker } = require('..')
const { trackGarbage } = require('./helpers.js')

test('collect() works without --expose-gc and leaves gc hidden from the app, new contexts and workers', () => {
  const script = path.join(__dirname, 'fixtures/collect-without-flag.js')
  const out = JSON.parse(execFileSync(process.execPath, [script], { encoding: 'utf8' }))
  assert.equal(out.gcBefore, 'undefined')
  assert.equal(out.gcAfter, 'undefined')
  assert.equal(out.newContextSees, 'undefined')
  assert.equal(out.workerSees, 'undefined')
  assert.equal(out.before, 1000)
  assert.deepEqual(Object.keys(out.refs), ['kept'])
  assert.equal(out.refs.kept._total, 3)
  assert.equal(out.eventsAtResolve, 1000, "every 'gc' event is out when collect() resolves")
})

test("under --expose-gc, collect() resolves after every 'gc' event it caused, and leaves global.gc as it was", async () => {
  const wt = WeakTracker()
  const gc = global.gc
  let events = 0
  wt.on('gc', () => events++)
  trackGarbage(wt, 'garbage', 500)
  await wt.collect()
  assert.equal(events, 500)
  assert.deepEqual(wt.refs, {})
  assert.equal(global.gc, gc)
})

test('snapshot() is a frozen copy of the counts with the time it was taken', () => {
  const wt = WeakTracker()
  const kept = [{}, {}]
  wt.track('a', kept[0])
  const from = Date.now()
  const snap = wt.snapshot()
  assert.ok(snap.time >= from && snap.time <= Date.now())
  assert.ok(Object.isFrozen(snap) && Object.isFrozen(snap.refs) && Object.isFrozen(snap.refs.a))
  wt.track('a', kept[1])
  assert.equal(snap.refs.a._total, 1)
  assert.equal(wt.refs.a._total, 2)
  assert.throws(() => { 'use strict'; snap.refs.a._total = 5 }, TypeError)
  assert.deepEqual(JSON.parse(JSON.stringify(snap)).refs, snap.refs)
})

test('diff() lists every (key, origin) whose count changed, largest growth first', () => {
  const wt = WeakTracker()
  const kept = []
  const keep = (obj) => kept.push(obj) && obj
  function growing(n) {
    for (let i = 0; i < n; i++) wt.track('grow', keep({}))
  }
  function steady(n) {
    for (let i = 0; i < n; i++) wt.track('steady', keep({}))
  }
  function shrinking(n) {
    for (let i = 0; i < n; i++) wt.track('shrink', keep({}))
  }
  growing(1)
  steady(2)
  const before = wt.snapshot()
  growing(5)
  shrinking(3)
  const changes = wt.diff(before)
  assert.deepEqual(changes.map(({ key, before, after, delta }) => ({ key, before, after, delta })), [
    { key: 'grow', before: 1, after: 6, delta: 5 },
    { key: 'shrink', before: 0, after: 3, delta: 3 },
  ])
  assert.match(changes[0].origin, /^at growing \(/)
  const reverse = wt.diff(wt.snapshot(), before)
  assert.deepEqual(reverse.map((c) => c.delta), [-3, -5])
  assert.deepEqual(wt.diff(before, before), [])
})

test('diff() rejects what is not a snapshot', () => {
  const wt = WeakTracker()
  assert.throws(() => wt.diff(), { code: 'ERR_INVALID_ARG_TYPE', message: 'The "before" argument must be of type object. Received undefined' })
  assert.throws(() => wt.diff({ refs: {} }, 5), { code: 'ERR_INVALID_ARG_TYPE', message: 'The "after" argument must be of type object. Received type number (5)' })
})

test('suspects() names the live objects older than olderThan per key and origin, most first', async () => {
  const wt = WeakTracker()
  const kept = []
  function oldLeak(n) {
    for (let i = 0; i < n; i++) {
      const obj = {}
      kept.push(obj)
      wt.track('leak', obj)
    }
  }
  function oldFew() {
    const obj = {}
    kept.push(obj)
    wt.track('few', obj)
  }
  oldLeak(4)
  oldFew()
  trackGarbage(wt, 'garbage', 50)
  await sleep(150)
  const startedYoung = Date.now()
  oldLeak(2) // young: not suspects at olderThan 100
  global.gc()
  assert.deepEqual(wt.suspects(), [], 'nothing is 10 s old')
  const suspects = wt.suspects({ olderThan: 100 })
  assert.deepEqual(suspects.map(({ key, count }) => ({ key, count })), [
    { key: 'leak', count: 4 },
    { key: 'few', count: 1 },
  ])
  assert.match(suspects[0].origin, /^at oldLeak \(/)
  for (const s of suspects) assert.ok(s.oldestMs >= 140 && s.oldestMs <= Date.now() - startedYoung + 1000, `${s.oldestMs}`)
  assert.equal(wt.suspects({ olderThan: 0 }).find((s) => s.key === 'leak').count, 6)
})

test('suspects() rejects bad options in Node form', () => {
  const wt = WeakTracker()
  assert.throws(() => wt.suspects(null), { code: 'ERR_INVALID_ARG_TYPE', message: 'The "options" argument must be of type object. Received null' })
  assert.throws(() => wt.suspects({ olderThan: '5' }), {
    code: 'ERR_INVALID_ARG_TYPE',
    message: `The "options.olderThan" property must be of type number. Received type string ('5')`,
  })
  assert.throws(() => wt.suspects({ olderThan: -1 }), {
    name: 'RangeError',
    code: 'ERR_OUT_OF_RANGE',
    message: 'The value of "options.olderThan" is out of range. It must be >= 0. Received -1',
  })
})
