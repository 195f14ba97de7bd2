'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const { WeakTracker } = require('..')
const { trackHeld, origins } = require('./helpers.js')

test('refs excludes collected objects in the same tick as gc()', () => {
  const wt = WeakTracker()
  const held = trackHeld(wt, 'leaker', 5)
  assert.equal(wt.refs.leaker._total, 5)
  held.length = 0
  global.gc()
  assert.deepEqual(wt.refs, {})
})

test('refs counts live objects per key and origin and drops origins that reach zero', () => {
  const wt = WeakTracker()
  const kept = []
  function keepSome() {
    for (let i = 0; i < 3; i++) {
      const obj = { i }
      kept.push(obj)
      wt.track('mixed', obj)
    }
  }
  keepSome()
  const held = trackHeld(wt, 'mixed', 4)
  const before = wt.refs
  assert.equal(before.mixed._total, 7)
  assert.deepEqual(Object.values(origins(before, 'mixed')).sort(), [3, 4])
  held.length = 0
  global.gc()
  const after = wt.refs
  assert.equal(after.mixed._total, 3)
  const [origin, count] = Object.entries(origins(after, 'mixed'))[0]
  assert.equal(count, 3)
  assert.match(origin, /^at keepSome \(.*refs\.test\.js:\d+:\d+\)$/)
  assert.equal(Object.keys(origins(after, 'mixed')).length, 1)
  assert.equal(kept.length, 3)
})

test('tracking the same object twice counts twice', () => {
  const wt = WeakTracker()
  const obj = {}
  wt.track('twice', obj)
  wt.track('twice', obj)
  assert.equal(wt.refs.twice._total, 2)
  global.gc()
  assert.equal(wt.refs.twice._total, 2, 'still referenced here')
  assert.ok(obj)
})

test('refs lists _total first and is a fresh JSON-serialisable object on every read', () => {
  const wt = WeakTracker()
  const obj = {}
  wt.track('k', obj)
  const refs = wt.refs
  assert.deepEqual(Object.keys(refs.k)[0], '_total')
  assert.deepEqual(JSON.parse(JSON.stringify(refs)), refs)
  refs.k._total = 99
  delete refs.k
  assert.equal(wt.refs.k._total, 1)
  assert.ok(obj)
})

test('keys that are also names on Object.prototype are counted as plain keys', () => {
  const wt = WeakTracker()
  const keep = [{}, {}, {}]
  wt.track('__proto__', keep[0])
  wt.track('toString', keep[1])
  wt.track('constructor', keep[2])
  const refs = wt.refs
  assert.deepEqual(Object.keys(refs), ['__proto__', 'toString', 'constructor'])
  assert.equal(Object.getPrototypeOf(refs), Object.prototype)
  assert.equal(refs.toString._total, 1)
  assert.equal(Object.getOwnPropertyDescriptor(refs, '__proto__').value._total, 1)
})

const kinds = {
  'plain object': () => ({ a: 1 }),
  array: () => [1, 2, 3],
  function: () => function named() {},
  'arrow function': () => () => {},
  'class instance': () => new (class Widget {})(),
  class: () => class Made {},
  Map: () => new Map([[1, 2]]),
  Set: () => new Set([1]),
  Promise: () => new Promise(() => {}),
  Proxy: () => new Proxy({}, {}),
  'frozen object': () => Object.freeze({ a: 1 }),
  'null-prototype object': () => Object.create(null),
  Buffer: () => Buffer.alloc(16),
  Float64Array: () => new Float64Array(4),
  Date: () => new Date(0),
  RegExp: () => /x/g,
  Error: () => new Error('e'),
}

for (const [kind, make] of Object.entries(kinds)) {
  test(`a ${kind} is tracked without being kept alive`, () => {
    const wt = WeakTracker()
    const kept = make()
    wt.track(kind, kept)
    const held = trackHeld(wt, kind, 3, make)
    assert.equal(wt.refs[kind]._total, 4)
    held.length = 0
    global.gc()
    assert.equal(wt.refs[kind]._total, 1)
    assert.ok(kept)
  })
}

test('refs matches a plain model of counts over a random mix of kept and dropped objects', () => {
  const wt = WeakTracker()
  const keys = ['a', 'b', 'c']
  const makers = [
    (key, obj) => wt.track(key, obj),
    (key, obj) => wt.track(key, obj),
    (key, obj) => wt.track(key, obj),
  ]
  const kept = []
  const model = {}
  let seed = 42
  const random = (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % n
  }
  function round() {
    for (let i = 0; i < 500; i++) {
      const key = keys[random(keys.length)]
      const site = random(makers.length)
      const obj = {}
      makers[site](key, obj)
      if (random(3) === 0) {
        kept.push({ key, site, obj })
      }
    }
  }
  round()
  round()
  global.gc()
  for (const { key } of kept) model[key] = (model[key] ?? 0) + 1
  const refs = wt.refs
  assert.deepEqual(Object.fromEntries(Object.entries(refs).map(([k, v]) => [k, v._total])), model)
  for (const key of Object.keys(model)) {
    const perOrigin = origins(refs, key)
    assert.equal(Object.keys(perOrigin).length, new Set(kept.filter((k) => k.key === key).map((k) => k.site)).size)
    assert.equal(Object.values(perOrigin).reduce((a, b) => a + b, 0), model[key])
  }
})
