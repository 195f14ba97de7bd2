'use strict'

// assertNoGrowth(): the heap-growth gate that needs no track(). Each clean function of
// fixtures/growth-cases.js passes and each leak pattern fails with its allocating function's
// position and a retainer path (benchmark/no-growth-flakes.js runs them 30 times each).

const test = require('node:test')
const assert = require('node:assert/strict')
const { assertNoGrowth } = require('weak-tracker/assert')
const cases = require('./fixtures/growth-cases.js')

// V8 moves an object's allocation trace along with it only while the object has no id; an object
// allocated where a dead one with an id was loses its trace at its next move (v8
// HeapProfiler::ObjectMoveEvent, which finds the dead one's entry there). Seen
// on every major, more often under load: then a leak still fails the check, with its path, and the
// message says that V8 kept no trace.
const untraced = /allocated at: \(V8 kept no allocation trace for them\)/
let namedCount = 0

test.after(() => cases.close())

for (const [name, fn] of Object.entries(cases.clean)) {
  test(`${name}: passes`, async () => {
    await assertNoGrowth(fn)
  })
}

for (const [name, { fn, allocator }] of Object.entries(cases.leaks)) {
  test(`${name}: fails, naming ${allocator} and its position`, async () => {
    await assert.rejects(assertNoGrowth(fn), (error) => {
      assert.equal(error.code, 'ERR_ASSERTION')
      assert.match(error.message, /^Heap growth: \d+ groups? of objects created by fn grew by at least one object per iteration \(10 iterations after 3 warm-up calls\)/)
      // The innermost app frame first: an arrow inside the allocator may come before it.
      const named = new RegExp(`allocated at \\(\\d+ of \\d+; V8 names the function, not the line in it\\):\\n(\\s+.*growth-cases\\.js.*\\n)?\\s+${allocator} \\(.*growth-cases\\.js:\\d+:\\d+\\)`)
      assert.ok(named.test(error.message) || untraced.test(error.message), error.message)
      if (named.test(error.message)) namedCount++
      assert.match(error.message, /\+\d+ objects in 10 iterations \(\d+(\.\d)? per iteration\), .* retained \(.* per iteration\)/)
      assert.match(error.message, /┬─── \d+ .* objects\n\s+│ GC root: /)
      return true
    })
  })
}

// Node 20 lost a trace for 1 of the 8 patterns at most, in every run seen (18 and 22 lost all in
// some late-suite runs): there, the naming itself is required.
test('the allocating function is named for most leak patterns on Node 20', { skip: process.versions.node.split('.')[0] !== '20' && 'V8 drops traces too often off Node 20' }, () => {
  assert.ok(namedCount >= 4, `${namedCount} of ${Object.keys(cases.leaks).length} named`)
})

test('with options.bytes, a group fails only when it retains that many bytes per iteration', async () => {
  await assertNoGrowth(cases.leaks['an array in a module'].fn, { bytes: 1024 * 1024 })
  await assert.rejects(assertNoGrowth(cases.leaks['a Map cache without eviction'].fn, { bytes: 16 }), { code: 'ERR_ASSERTION', message: /grew by at least 16 B per iteration/ })
})

test('an error thrown by fn rejects the check with that error, and the next check still works', async () => {
  let calls = 0
  await assert.rejects(
    assertNoGrowth(() => {
      if (++calls === 5) throw new Error('boom')
    }),
    { message: 'boom' },
  )
  await assertNoGrowth(cases.clean['an object that is dropped'])
})

test('arguments are validated like assertNoLeaks() validates them, and fn is never called', async () => {
  let called = 0
  const fn = () => called++
  await assert.rejects(assertNoGrowth(42), { code: 'ERR_INVALID_ARG_TYPE', message: 'The "fn" argument must be of type function. Received type number (42)' })
  await assert.rejects(assertNoGrowth(fn, 'x'), { code: 'ERR_INVALID_ARG_TYPE', message: /The "options" argument must be of type object/ })
  await assert.rejects(assertNoGrowth(fn, { warmup: -1 }), { code: 'ERR_OUT_OF_RANGE', message: /The value of "options.warmup" is out of range. It must be an integer >= 0. Received -1/ })
  await assert.rejects(assertNoGrowth(fn, { iterations: 0 }), { code: 'ERR_OUT_OF_RANGE', message: /"options.iterations" .* >= 1/ })
  await assert.rejects(assertNoGrowth(fn, { iterations: '3' }), { code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(assertNoGrowth(fn, { bytes: 0 }), { code: 'ERR_OUT_OF_RANGE', message: /"options.bytes" .* >= 1/ })
  await assert.rejects(assertNoGrowth(fn, { settleMs: 1.5 }), { code: 'ERR_OUT_OF_RANGE' })
  assert.equal(called, 0)
})
