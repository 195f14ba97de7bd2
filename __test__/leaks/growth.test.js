'use strict'

// `weak-tracker growth` on six leaks users hunted in real Node 20 apps (apps/): three snapshots of
// each app, at 200, 5,200 and 10,200 leaked items, and the top three of what the command reports
// must name the object that really holds the leak.

const test = require('node:test')
const assert = require('node:assert/strict')
const { snapshots, weakTracker } = require('./driver.js')
const { HOLDERS, MARKS, naming, summary } = require('./holders.js')

for (const [name, { what, holds }] of Object.entries(HOLDERS)) {
  test(`growth names ${what} among its top three for the ${name} leak`, async () => {
    const { files } = await snapshots(name, MARKS)
    const out = await weakTracker(['growth', ...files, '--json', '--limit', '3'])
    assert.equal(out.code, 0, out.stderr)
    const report = JSON.parse(out.stdout)
    assert.equal(report.snapshots, 3)
    assert.ok(report.unbound.length <= 3 && report.newObjects.length <= 3)
    assert.ok(naming(report, holds).length > 0, `${what} is not named by the top three:\n${summary(report)}`)
  })
}
