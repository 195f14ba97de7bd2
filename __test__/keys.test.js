'use strict'

// Keys are JavaScript strings exactly, whatever they hold, and whatever Object.prototype has.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { WeakTracker } = require('..')
const { collectUntil, trackHeld } = require('./helpers.js')

// Halves of '🎉' and the replacement character that a lossy conversion would turn them into.
const SURROGATES = ['\uD83C', '\uDF89', '\uFFFD', 'a\uD83C', 'a\uDF89', '\uDF89\uD83C']

test('keys that differ only in lone surrogates stay distinct keys', () => {
  const wt = WeakTracker()
  const refs = []
  wt.on('ref', (key) => refs.push(key))
  const held = SURROGATES.map((key, i) => trackHeld(wt, key, i + 1))
  const counts = wt.refs
  assert.deepEqual(Object.keys(counts).sort(), [...SURROGATES].sort())
  SURROGATES.forEach((key, i) => assert.equal(counts[key]._total, i + 1, JSON.stringify(key)))
  assert.deepEqual(refs, SURROGATES.flatMap((key, i) => Array(i + 1).fill(key)))
  assert.equal(held.length, SURROGATES.length)
})

test('after call site ids are released and reused, lone-surrogate keys keep their own counts and lines', async () => {
  const wt = WeakTracker()
  const events = new Map()
  wt.on('gc', (key, origin) => events.set(`${key}|${origin}`, (events.get(`${key}|${origin}`) ?? 0) + 1))
  const lines = [
    (key, obj) => wt.track(key, obj),
    (key, obj) => wt.track(key, obj),
  ]
  for (let round = 0; round < 4; round++) {
    // Each round uses the keys in another order, so that released ids come back for other names.
    const keys = round % 2 ? [...SURROGATES].reverse() : SURROGATES
    let held = []
    const expected = {}
    keys.forEach((key, i) => {
      const line = lines[(i + round) % 2]
      for (let n = 0; n <= i; n++) {
        const obj = {}
        held.push(obj)
        line(key, obj)
      }
      expected[key] = i + 1
    })
    const counts = wt.refs
    for (const [key, total] of Object.entries(expected)) assert.equal(counts[key]?._total, total, `round ${round} ${JSON.stringify(key)}`)
    assert.equal(Object.keys(counts).length, keys.length)
    held = null
    await collectUntil(() => Object.keys(wt.refs).length === 0)
  }
  const total = [...events.values()].reduce((a, b) => a + b, 0)
  assert.equal(total, 4 * (SURROGATES.length * (SURROGATES.length + 1)) / 2)
  for (const name of events.keys()) assert.ok(SURROGATES.includes(name.split('|')[0]), JSON.stringify(name))
})

test('keys named like Object.prototype accessors (should.js) are own properties of refs and snapshots', (t) => {
  Object.defineProperty(Object.prototype, 'should', { get() { return this }, configurable: true })
  let swallowed = 0
  Object.defineProperty(Object.prototype, 'swallow', { get() {}, set() { swallowed++ }, configurable: true })
  t.after(() => {
    delete Object.prototype.should
    delete Object.prototype.swallow
  })
  const wt = WeakTracker()
  const keys = ['should', 'swallow', 'constructor', 'toString', 'hasOwnProperty', '__proto__', '_total']
  const held = keys.map((key) => trackHeld(wt, key, 2))
  const before = wt.snapshot()
  const more = trackHeld(wt, 'should', 1)
  const refs = wt.refs
  for (const key of keys) {
    assert.ok(Object.hasOwn(refs, key), key)
    assert.equal(refs[key]._total, key === 'should' ? 3 : 2, key)
    assert.ok(Object.hasOwn(before.refs, key), key)
  }
  assert.equal(swallowed, 0)
  assert.deepEqual(wt.diff(before).map(({ key, delta }) => [key, delta]), [['should', 1]])
  assert.equal(held.length + more.length, keys.length + 1)
})

test('diff() names the missing refs of a snapshot', () => {
  const wt = WeakTracker()
  assert.throws(() => wt.diff({}), {
    code: 'ERR_INVALID_ARG_TYPE',
    message: 'The "before.refs" property must be of type object. Received undefined',
  })
  assert.throws(() => wt.diff({ refs: {} }, { refs: 5 }), {
    code: 'ERR_INVALID_ARG_TYPE',
    message: 'The "after.refs" property must be of type object. Received type number (5)',
  })
})

test('a 10 MB key tracked from 20 lines is stored once, not once per line', () => {
  const script = `
    const { WeakTracker } = require(${JSON.stringify(path.join(__dirname, '..'))})
    const vm = require('node:vm')
    const key = 'k'.repeat(10 * 1024 * 1024)
    const lines = vm.runInThisContext('[' + Array(20).fill('(wt, obj, key) => wt.track(key, obj)').join(',\\n') + ']', { filename: 'lines.js' })
    const wt = WeakTracker()
    const kept = lines.map(() => ({}))
    global.gc()
    const before = process.memoryUsage().rss
    lines.forEach((line, i) => line(wt, kept[i], key))
    global.gc()
    const after = process.memoryUsage().rss
    process.stdout.write(JSON.stringify({ mib: (after - before) / 2 ** 20, origins: Object.keys(wt.refs[key]).length - 1, kept: kept.length }))
  `
  const out = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' }))
  assert.equal(out.origins, 20)
  assert.ok(out.mib < 30, `added ${out.mib} MiB of RSS`)
})
