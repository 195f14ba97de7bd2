'use strict'

// Leak checks in tests: expectCollected(), retained(), and weak-tracker/assert under node:test.

const test = require('node:test')
const assert = require('node:assert/strict')
const { WeakTracker } = require('..')
const { assertNoLeaks, assertCollected } = require('weak-tracker/assert')
const checks = require('./fixtures/leak-checks.js')
const { trackHeld, collectUntil, tick } = require('./helpers.js')

test.after(() => checks.close())

test('expectCollected() counts like track(), with its origin and a ref event, and retained() lists only those objects', async () => {
  const wt = WeakTracker()
  const refs = []
  wt.on('ref', (key, origin) => refs.push([key, origin]))
  const kept = []
  function expectHere(obj) {
    wt.expectCollected('conn', obj)
  }
  for (let i = 0; i < 3; i++) expectHere((kept[i] = {}))
  trackHeld(wt, 'conn', 2).forEach((o) => kept.push(o))
  assert.equal(refs.length, 5)
  assert.match(refs[0][1], /^at expectHere \(.*assert\.test\.js:\d+:\d+\)$/)
  assert.equal(wt.refs.conn._total, 5)
  assert.equal(wt.refs.conn[refs[0][1]], 3)
  assert.deepEqual(wt.retained(), [], 'none is 5 s old yet')
  const [retained] = wt.retained({ olderThan: 0 })
  assert.deepEqual({ ...retained, oldestMs: 0 }, { key: 'conn', origin: refs[0][1], count: 3, oldestMs: 0 })
  assert.equal(wt.retained({ olderThan: 0 }).length, 1, 'objects that were only tracked never appear')
  kept.length = 0
  await wt.collect()
  assert.deepEqual(wt.retained({ olderThan: 0 }), [], 'exact right after collect()')
  assert.deepEqual(wt.refs, {})
})

test('retained() ages count from the moment an object was expected gone', async () => {
  const wt = WeakTracker()
  const held = []
  function expect(obj) {
    wt.expectCollected('late', obj)
  }
  expect((held[0] = {}))
  await new Promise((resolve) => setTimeout(resolve, 120))
  expect((held[1] = {}))
  const [only] = wt.retained({ olderThan: 100 })
  assert.equal(only.count, 1)
  assert.ok(only.oldestMs >= 100 && only.oldestMs < 5000, `${only.oldestMs}`)
  assert.equal(wt.retained({ olderThan: 0 })[0].count, 2)
  assert.equal(held.length, 2)
})

test('the same object given to track() and then to expectCollected() is counted twice, and freed once for each', async () => {
  const wt = WeakTracker()
  let events = 0
  wt.on('gc', () => events++)
  ;(function both() {
    const obj = {}
    wt.track('both', obj)
    wt.expectCollected('both', obj)
  })()
  assert.equal(wt.refs.both._total, 2)
  await collectUntil(() => events === 2)
  assert.deepEqual(wt.retained({ olderThan: 0 }), [])
})

test('assertNoLeaks() passes for a function whose objects a timer, a promise and a socket hold for a moment', async () => {
  await assertNoLeaks(checks.tidy, { tracker: checks.wt })
})

test('assertNoLeaks() fails with the growing key, the line and the retainer path', async () => {
  await assert.rejects(assertNoLeaks(checks.leaky, { warmup: 2, iterations: 7, settleMs: 100 }), (error) => {
    assert.equal(error.code, 'ERR_ASSERTION')
    assert.ok(error instanceof assert.AssertionError)
    assert.match(error.message, /^Leak: live tracked objects grew over 7 calls \(tolerance 0\):\n/)
    assert.match(error.message, /\n {2}\+7 request at leaky \(.*leak-checks\.js:11:6\) \(\d+ -> \d+\)\n/)
    assert.match(error.message, /│ {4}↓ leaked \(context\)\n {4}├─ Array {3}Retaining \d[^\n]*\n {4}│ {4}↓ \[\d+\] \(element\)\n {4}╰→ Object {3}\(tracked as 'request'\)/)
    assert.doesNotMatch(error.stack.split('\n').slice(1).join('\n'), /lib[/\\]assert\.js/, 'the stack starts at the test')
    return true
  })
  // Within the tolerance, the same growth passes.
  await assertNoLeaks(checks.leaky, { tolerance: 1, iterations: 1, warmup: 0 })
})

test('assertNoLeaks() explains objects held as WeakMap values through the map and their key', async () => {
  await assert.rejects(assertNoLeaks(checks.leakyWeakMap, { warmup: 1, iterations: 3, settleMs: 50 }), (error) => {
    assert.match(error.message, /^Leak: live tracked objects grew over 3 calls/)
    assert.doesNotMatch(error.message, /nothing in the heap snapshot holds them/)
    assert.match(error.message, /↓ stateOf \(context\)\n {4}├─ WeakMap {3}Retaining \d[^\n]*\n {4}│ {4}↓ table \(internal\)\n/)
    assert.match(error.message, /↓ value for its Owner key \(internal\)\n {4}│ {6}\(a WeakMap entry: held while its key, Owner, is alive\)\n {4}╰→ Object/)
    return true
  })
})

test('assertNoLeaks() fails when fn tracks nothing, and names assertNoGrowth() as the check that needs no track()', async () => {
  const calls = []
  await assert.rejects(assertNoLeaks(() => calls.push({}), { warmup: 1, iterations: 2, settleMs: 0 }), (error) => {
    assert.equal(error.code, 'ERR_ASSERTION')
    assert.equal(
      error.message,
      'assertNoLeaks() has nothing to check: fn tracked no object in 3 calls. Call track() on the objects fn creates, ' +
        'or use assertNoGrowth(), which checks the heap itself and needs no track().',
    )
    return true
  })
  assert.equal(calls.length, 3)
})

test('assertCollected() passes once expected objects are gone, and fails naming the ones that are not', async () => {
  const wt = WeakTracker()
  function release(keep) {
    wt.expectCollected('connection', checks.openConnection(keep))
  }
  release(false)
  await assertCollected({ tracker: wt })
  release(true)
  await assert.rejects(assertCollected({ tracker: wt, settleMs: 50 }), (error) => {
    assert.equal(error.code, 'ERR_ASSERTION')
    assert.match(error.message, /^Leak: objects expected to be collected are still alive:\n {2}1 connection at release \(.*assert\.test\.js:\d+:\d+\)\n/)
    assert.match(error.message, /↓ pool \(context\)\n {4}├─ Array {3}Retaining \d[^\n]*\n/)
    return true
  })
})

test('bad arguments are refused in Node form', async () => {
  const cases = [
    [() => assertNoLeaks(), TypeError, 'ERR_INVALID_ARG_TYPE', 'The "fn" argument must be of type function. Received undefined'],
    [() => assertNoLeaks(() => {}, 5), TypeError, 'ERR_INVALID_ARG_TYPE', 'The "options" argument must be of type object. Received type number (5)'],
    [() => assertNoLeaks(() => {}, { iterations: 0 }), RangeError, 'ERR_OUT_OF_RANGE', 'The value of "options.iterations" is out of range. It must be an integer >= 1. Received 0'],
    [() => assertNoLeaks(() => {}, { warmup: -1 }), RangeError, 'ERR_OUT_OF_RANGE', 'The value of "options.warmup" is out of range. It must be an integer >= 0. Received -1'],
    [() => assertNoLeaks(() => {}, { tolerance: 1.5 }), RangeError, 'ERR_OUT_OF_RANGE', 'The value of "options.tolerance" is out of range. It must be an integer >= 0. Received 1.5'],
    [() => assertNoLeaks(() => {}, { warmup: '5' }), TypeError, 'ERR_INVALID_ARG_TYPE', `The "options.warmup" property must be of type number. Received type string ('5')`],
    [() => assertCollected({ tracker: {} }), TypeError, 'ERR_INVALID_ARG_TYPE', 'The "options.tracker" property must be of type WeakTracker. Received an instance of Object'],
    [() => assertCollected(null), TypeError, 'ERR_INVALID_ARG_TYPE', 'The "options" argument must be of type object. Received null'],
  ]
  for (const [call, type, code, message] of cases) {
    await assert.rejects(call(), (error) => error instanceof type && error.code === code && error.message === message)
  }
  const wt = WeakTracker()
  assert.throws(() => wt.expectCollected('k', 5), { code: 'ERR_INVALID_ARG_TYPE', message: 'The "obj" argument must be of type object. Received type number (5)' })
  assert.throws(() => wt.expectCollected(5, {}), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => wt.retained({ olderThan: -1 }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => wt.retained(1), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.deepEqual(wt.refs, {})
  await tick()
})

test('50 runs of assertNoLeaks() on a function that does not leak never fail', async () => {
  for (let run = 0; run < 50; run++) await assertNoLeaks(checks.tidy, { tracker: checks.wt, warmup: 1, iterations: 5 })
})
