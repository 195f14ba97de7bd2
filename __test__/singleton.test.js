'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const { EventEmitter } = require('node:events')
const weakTracker = require('..')
const { WeakTracker } = require('..')

test('the module is a function that returns one shared tracker', () => {
  assert.equal(typeof weakTracker, 'function')
  assert.equal(weakTracker(), weakTracker())
  assert.ok(weakTracker() instanceof EventEmitter)
})

test('WeakTracker() makes an independent tracker, with or without new', () => {
  const a = WeakTracker()
  const b = new WeakTracker()
  assert.notEqual(a, b)
  assert.notEqual(a, weakTracker())
  assert.ok(a instanceof WeakTracker)
  assert.ok(b instanceof EventEmitter)
  const kept = {}
  a.track('only-a', kept)
  assert.equal(a.refs['only-a']._total, 1)
  assert.deepEqual(b.refs, {})
  assert.equal(weakTracker().refs['only-a'], undefined)
})
