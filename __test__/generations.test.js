'use strict'

// After a young collection the sweep looks only at recently tracked objects. That relies on V8
// promoting what survives a few young collections; these runs check it under every young-generation
// set-up the Node in use offers: nothing is ever missed, and one full collection makes the counts
// exact.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const major = Number(process.versions.node.split('.')[0])
const fixture = path.join(__dirname, 'fixtures/generations.js')

const setUps = [
  ['the default young collector', [], true],
  ['--max-semi-space-size=1', ['--max-semi-space-size=1'], true],
  ['--single-threaded-gc', ['--single-threaded-gc'], true],
  // Node 18 and 20 have the experimental minor mark-compact, which promotes by page rather than
  // by age and breaks the promise now and then (seen: 74 objects missed in one CI run): there only
  // exactness after a full collection is promised. 22 and later have MinorMS, which keeps it.
  major < 22 ? ['--minor-mc', ['--minor-mc'], false] : ['--minor-ms', ['--minor-ms'], true],
]

for (const [name, flags, promised] of setUps) {
  const title = promised
    ? `under ${name}, sweeps after young collections miss nothing, and one full collection makes counts exact`
    : `under ${name}, one full collection makes counts exact whatever the young sweeps missed`
  test(title, () => {
    const out = JSON.parse(execFileSync(process.execPath, ['--expose-gc', ...flags, fixture], { encoding: 'utf8' }))
    assert.ok(out.scavenges >= 60, `young collections seen: ${out.scavenges}`)
    assert.equal(out.afterFull, out.stillHeld)
    if (!promised) return
    assert.equal(out.missed, 0, 'a forced full sweep found objects the sweep after a young collection had missed')
    assert.ok(out.youngSweeps >= out.checks / 2, `sweeps that looked only at recent objects: ${out.youngSweeps} of ${out.checks}`)
  })
}
