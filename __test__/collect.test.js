'use strict'

// collect() forces a full collection without touching V8's flags: it never aborts the process and
// never races with other threads.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const pkg = path.join(__dirname, '..')
const major = Number(process.versions.node.split('.')[0])

function run(args) {
  const out = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 })
  assert.equal(out.signal, null, `killed by ${out.signal}: ${out.stderr}`)
  assert.equal(out.status, 0, out.stderr)
  return JSON.parse(out.stdout)
}

test('collect() works under --freeze-flags-after-init, where flipping --expose-gc would abort the process', { skip: major < 20 && 'Node 18 has no --freeze-flags-after-init' }, () => {
  const out = run(['--freeze-flags-after-init', path.join(__dirname, 'fixtures/collect-without-flag.js')])
  assert.equal(out.gcAfter, 'undefined')
  assert.equal(out.newContextSees, 'undefined')
  assert.deepEqual(Object.keys(out.refs), ['kept'])
  assert.equal(out.refs.kept._total, 3)
  assert.equal(out.eventsAtResolve, 1000)
})

test('six threads calling collect() at once all succeed, and a thread creating contexts meanwhile never sees gc', () => {
  const out = run([path.join(__dirname, 'fixtures/collect-threads.js'), pkg])
  assert.equal(out.results.length, 6)
  for (const thread of out.results) {
    assert.deepEqual(thread.failures, [])
    assert.equal(thread.events, 1000, "every garbage object's 'gc' event")
    assert.deepEqual(thread.refs, { kept: thread.refs.kept })
    assert.equal(thread.refs.kept._total, 1)
    assert.equal(thread.seesGc, 'undefined')
  }
  assert.equal(out.sawGc, 0)
  assert.equal(out.mainSees, 'undefined')
})
