'use strict'

// weak-tracker/assert under real jest and vitest runs (devDependencies): jest runs the spec in a
// vm context of its own, vitest in a worker thread. The same spec has two checks that pass and two
// that must fail with the leaking line and the retainer path. Run once, not on every Node major.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const root = path.join(__dirname, '../..')
const runners = path.join(__dirname, '../fixtures/runners')

function runReport(args, report) {
  const out = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 120_000 })
  assert.equal(out.status, 1, `the run fails because two checks fail:\n${out.stdout}\n${out.stderr}`)
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

function tmp(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-runners-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

test('under jest, the leak checks pass and fail as they do under node:test', (t) => {
  const report = path.join(tmp(t), 'jest.json')
  const jest = path.join(path.dirname(require.resolve('jest/package.json')), 'bin/jest.js')
  assertOutcomes(runReport([jest, '--config', path.join(runners, 'jest.config.js'), '--ci', '--json', '--outputFile', report], report))
})

test('under vitest (worker threads), the leak checks pass and fail as they do under node:test', (t) => {
  const report = path.join(tmp(t), 'vitest.json')
  const vitest = path.join(path.dirname(require.resolve('vitest/package.json')), 'vitest.mjs')
  assertOutcomes(runReport([vitest, 'run', '--config', path.join(runners, 'vitest.config.mjs'), '--reporter=json', `--outputFile=${report}`], report))
})
