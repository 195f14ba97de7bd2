'use strict'

// weak-tracker/assert under real jest and vitest runs (devDependencies): jest runs the specs in a
// vm context of its own, vitest in a worker thread. leak.spec.js has two leak checks that pass and
// two that must fail with the leaking line and the retainer path; growth.spec.js has assertNoGrowth
// pass a clean function and fail two leaks, naming the allocating function (also under node --test),
// and, under jest's and vitest's fake timers, pass a timer-using function that advances its timers
// and fail one that leaves them pending. One run per runner (each assertNoGrowth takes heap
// snapshots); run once, not on every Node major.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const root = path.join(__dirname, '../..')
const runners = path.join(__dirname, '../fixtures/runners')

function run(args) {
  // Without the variable by which node --test tells its child processes apart: the spec run by
  // node --test below would otherwise skip its file as a recursive run.
  const { NODE_TEST_CONTEXT, ...env } = process.env
  const out = spawnSync(process.execPath, args, { cwd: root, env, encoding: 'utf8', timeout: 300_000 })
  assert.equal(out.status, 1, `the run fails because some checks fail:\n${out.stdout}\n${out.stderr}`)
  return out
}

function runReport(args, report) {
  run(args)
  const results = JSON.parse(fs.readFileSync(report, 'utf8')).testResults.flatMap((f) => f.assertionResults)
  return Object.fromEntries(results.map((r) => [r.title, { status: r.status, message: r.failureMessages.join('\n') }]))
}

function assertOutcomes(results) {
  assert.equal(results['a function that does not leak passes'].status, 'passed')
  assert.equal(results['released connections pass assertCollected'].status, 'passed')
  const leaking = results['a leaking function fails with the line and the retainer path']
  assert.equal(leaking.status, 'failed')
  assert.match(leaking.message, /Leak: live tracked objects grew over 4 calls \(tolerance 0\):/)
  assert.match(leaking.message, /\+4 request at leaky \(.*leak-checks\.js:11:6\) \(\d+ -> \d+\)/)
  assert.match(leaking.message, /↓ leaked \(context\)\n\s+├─ Array {3}Retaining [^\n]+\n/)
  const pooled = results['a connection kept in a pool fails assertCollected']
  assert.equal(pooled.status, 'failed')
  assert.match(pooled.message, /Leak: objects expected to be collected are still alive:\n\s+1 connection at .*leak\.spec\.js:24:6/)
  assert.match(pooled.message, /↓ pool \(context\)\n\s+├─ Array {3}Retaining [^\n]+\n/)
}

// Each test of a node --test run, from its TAP output: the status and the YAML block (the error's
// message and its code).
function runTap(args) {
  const tap = run(args).stdout
  const results = {}
  for (const [, ok, title, block] of tap.matchAll(/^(ok|not ok) \d+ - (.+)\n {2}---\n([\s\S]*?)\n {2}\.\.\.$/gm)) {
    results[title] = { status: ok === 'ok' ? 'passed' : 'failed', message: block }
  }
  return results
}

// `thrown` matches how the runner shows an AssertionError with code ERR_ASSERTION.
function assertGrowthOutcomes(results, thrown, { fakeTimers }) {
  assert.equal(results['assertNoGrowth passes a function that does not leak'].status, 'passed')
  const failing = (title) => {
    const { status, message } = results[title]
    assert.equal(status, 'failed', title)
    assert.match(message, thrown)
    assert.match(message, /Heap growth: 1 group of objects created by fn grew by at least one object per iteration \(10 iterations after 3 warm-up calls\) and stayed alive:/)
    assert.match(message, /\+\d+ objects in 10 iterations \(\d+(\.\d)? per iteration\)/)
    return message
  }
  // The allocating function, or V8's word that it kept no trace (see no-growth.test.js).
  const allocatedAt = (message, frames) =>
    assert.match(message, new RegExp(`allocated at \\(\\d+ of \\d+; V8 names the function, not the line in it\\):\\n(?:${frames})|allocated at: \\(V8 kept no allocation trace for them\\)`))
  const array = failing('assertNoGrowth fails an array in a module')
  allocatedAt(array, String.raw`\s+hoard \(\S*leak-checks\.js:71:15\)\n`)
  assert.match(array, /↓ hoarded \(context\)\n\s+├─ Array\n/)
  const listener = failing('assertNoGrowth fails a listener per call on a long-lived emitter')
  allocatedAt(listener, String.raw`\s+listen \(\S*leak-checks\.js:77:16\)\n`)
  assert.match(listener, /↓ bus \(context\)\n\s+├─ EventEmitter\n[\s\S]*↓ event \(property\)/)
  if (!fakeTimers) return
  assert.equal(results['under fake timers, assertNoGrowth passes a timer-using function that advances the timers it set'].status, 'passed')
  // The fake clock allocates the timer (its frames come first), called from the app's function.
  const pending = failing('under fake timers, assertNoGrowth fails a timer-using function that leaves its timers pending')
  allocatedAt(pending, String.raw`(\s+.*\n)*?\s+later \(\S*leak-checks\.js:80:15\)\n`)
  assert.match(pending, /↓ clock \(property\)/)
}

function tmp(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-runners-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

test('under node --test, assertNoGrowth passes a clean function and fails leaks with ERR_ASSERTION, naming the allocating function', () => {
  const results = runTap(['--test', '--test-reporter=tap', path.join(runners, 'growth.spec.js')])
  assertGrowthOutcomes(results, /^\s*code: 'ERR_ASSERTION'$/m, { fakeTimers: false })
})

test('under jest, the leak checks and assertNoGrowth pass and fail as they do under node:test, fake timers included', (t) => {
  const report = path.join(tmp(t), 'jest.json')
  const jest = path.join(path.dirname(require.resolve('jest/package.json')), 'bin/jest.js')
  const results = runReport([jest, '--config', path.join(runners, 'jest.config.js'), '--ci', '--json', '--outputFile', report], report)
  assertOutcomes(results)
  // jest prints an error this way only when it is node:assert's AssertionError (or has code ERR_ASSERTION).
  assertGrowthOutcomes(results, /^Expected value {3}undefined\nReceived:\n {2}undefined\n\nMessage:\n {2}Heap growth: /, { fakeTimers: true })
})

test('under vitest (worker threads), the leak checks and assertNoGrowth pass and fail as they do under node:test, fake timers included', (t) => {
  const report = path.join(tmp(t), 'vitest.json')
  const vitest = path.join(path.dirname(require.resolve('vitest/package.json')), 'vitest.mjs')
  const results = runReport([vitest, 'run', '--config', path.join(runners, 'vitest.config.mjs'), '--reporter=json', `--outputFile=${report}`], report)
  assertOutcomes(results)
  assertGrowthOutcomes(results, /^AssertionError \[ERR_ASSERTION\]: Heap growth: /, { fakeTimers: true })
})
