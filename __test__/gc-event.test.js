'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { WeakTracker } = require('..')
const { tick, trackGarbage, collectUntil } = require('./helpers.js')

test("'gc' is emitted once per collected object, with its key and origin, after gc() returns", async () => {
  const wt = WeakTracker()
  const events = []
  wt.on('gc', (key, origin) => events.push([key, origin]))
  const refOrigins = []
  wt.on('ref', (key, origin) => refOrigins.push(origin))
  trackGarbage(wt, 'leaker', 5)
  global.gc()
  assert.equal(events.length, 0, 'no JavaScript runs inside the collection')
  await collectUntil(() => events.length >= 5)
  for (let i = 0; i < 3; i++) {
    global.gc()
    await tick(2)
  }
  assert.equal(events.length, 5)
  for (const [key, origin] of events) {
    assert.equal(key, 'leaker')
    assert.equal(origin, refOrigins[0])
  }
})

test("'gc' events arrive without anyone reading refs", async () => {
  const wt = WeakTracker()
  let count = 0
  wt.on('gc', () => count++)
  trackGarbage(wt, 'unread', 100)
  await collectUntil(() => count === 100)
})

test("reading refs between the collection and the events neither loses nor repeats an event", async () => {
  const wt = WeakTracker()
  let count = 0
  wt.on('gc', () => count++)
  trackGarbage(wt, 'read', 20)
  global.gc()
  assert.deepEqual(wt.refs, {})
  assert.deepEqual(wt.refs, {})
  await collectUntil(() => count === 20)
  global.gc()
  await tick(3)
  assert.equal(count, 20)
})

test("a 'gc' listener can track and read refs", async () => {
  const wt = WeakTracker()
  const kept = []
  const seen = []
  wt.on('gc', (key) => {
    if (key !== 'first') return
    const obj = {}
    kept.push(obj)
    wt.track('from-listener', obj)
    seen.push(wt.refs['from-listener']._total)
  })
  trackGarbage(wt, 'first', 3)
  await collectUntil(() => seen.length === 3)
  assert.deepEqual(seen, [1, 2, 3])
  assert.equal(wt.refs['from-listener']._total, 3)
  assert.equal(wt.refs.first, undefined)
})

test("a 'ref' listener can track and read refs", () => {
  const wt = WeakTracker()
  const kept = [{}, {}]
  let inner = null
  wt.once('ref', () => {
    wt.track('nested', kept[1])
    inner = wt.refs
  })
  wt.track('outer', kept[0])
  assert.equal(inner.nested._total, 1)
  assert.equal(inner.outer._total, 1)
  assert.equal(wt.refs.outer._total, 1)
})

test('a throwing listener surfaces as an uncaught exception; other events and the counts are intact', () => {
  const script = path.join(__dirname, 'fixtures/throwing-listener.js')
  const out = JSON.parse(execFileSync(process.execPath, ['--expose-gc', script]))
  assert.deepEqual(out, { events: 10, caught: ['listener failed'], total: 2, kept: 2 })
})

test('each tracker gets the events of its own objects only', async () => {
  const a = WeakTracker()
  const b = WeakTracker()
  const seen = { a: 0, b: 0 }
  a.on('gc', (key) => { assert.equal(key, 'a'); seen.a++ })
  b.on('gc', (key) => { assert.equal(key, 'b'); seen.b++ })
  trackGarbage(a, 'a', 4)
  trackGarbage(b, 'b', 6)
  await collectUntil(() => seen.a === 4 && seen.b === 6)
})
