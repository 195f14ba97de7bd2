'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const { WeakTracker } = require('..')

const objectCases = [
  [42, 'Received type number (42)'],
  ['a string', "Received type string ('a string')"],
  ['a string longer than twenty-eight characters', "Received type string ('a string longer than twen...')"],
  [true, 'Received type boolean (true)'],
  [Symbol('s'), 'Received type symbol (Symbol(s))'],
  [10n, 'Received type bigint (10n)'],
  [null, 'Received null'],
  [undefined, 'Received undefined'],
]

const keyCases = [
  [42, 'Received type number (42)'],
  [null, 'Received null'],
  [undefined, 'Received undefined'],
  [{}, 'Received an instance of Object'],
  [[], 'Received an instance of Array'],
  [function keyFn() {}, 'Received function keyFn'],
  [Object.create(null), 'Received [Object: null prototype] {}'],
  [Symbol('k'), 'Received type symbol (Symbol(k))'],
]

// Asserts that `call(wt)` throws Node's ERR_INVALID_ARG_TYPE with `message`, and records nothing.
function assertRejected(call, message) {
  const wt = WeakTracker()
  let refs = 0
  wt.on('ref', () => refs++)
  assert.throws(() => call(wt), (error) => {
    assert.ok(error instanceof TypeError)
    assert.equal(error.code, 'ERR_INVALID_ARG_TYPE')
    assert.equal(error.message, message)
    assert.doesNotMatch(error.stack.split('\n')[1], /index\.js/, 'the stack starts at the caller')
    return true
  })
  assert.deepEqual(wt.refs, {})
  assert.equal(refs, 0)
}

for (const [value, received] of objectCases) {
  test(`an obj of ${received.replace('Received ', '')} is rejected`, () => {
    assertRejected((wt) => wt.track('k', value), `The "obj" argument must be of type object. ${received}`)
  })
}

for (const [value, received] of keyCases) {
  test(`a key of ${received.replace('Received ', '')} is rejected`, () => {
    assertRejected((wt) => wt.track(value, {}), `The "key" argument must be of type string. ${received}`)
  })
}

test('missing arguments are rejected, the key first', () => {
  assertRejected((wt) => wt.track(), 'The "key" argument must be of type string. Received undefined')
  assertRejected((wt) => wt.track('k'), 'The "obj" argument must be of type object. Received undefined')
})
