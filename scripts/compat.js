'use strict'

// Proves that one binary serves every supported Node.js: packs and installs weak-tracker once,
// then runs the user scenario (__test__/fixtures/scenario.js) with Node 18, 20, 22, 24 and 26 (official builds,
// fetched and cached by scripts/nodes.js).
//
// With --suite, each Node also runs the whole test suite (node --expose-gc --test __test__/*.test.js) on
// the same binary. With --published, that binary is the one `npm run build:all` puts in this
// platform's package (glibc 2.17 symbols, built by zig) rather than the last `npm run build`.
//
//   node scripts/compat.js [--suite] [--published] [major ...]

const assert = require('node:assert/strict')
const fs = require('node:fs')
const { packAndInstall, runScenario } = require('./packaged.js')
const { nodeBinary } = require('./nodes.js')
const { runSuite } = require('./suite.js')
const { platformName } = require('../lib/platform.js')

const args = process.argv.slice(2)
const suite = args.includes('--suite')
const requested = args.filter((a) => !a.startsWith('--'))
if (args.includes('--published')) {
  const { buildAll, useBuilt } = require('./build-all.js')
  buildAll()
  useBuilt(platformName())
}
const majors = requested.length > 0 ? requested : ['18', '20', '22', '24', '26']
const packed = packAndInstall()
let failed = 0
const rows = []
try {
  for (const major of majors) {
    let out
    try {
      out = runScenario(packed.project, nodeBinary(major))
      assert.equal(out.node.split('.')[0], `v${major}`)
      const origin = Object.keys(out.before.request).find((k) => k !== '_total')
      assert.match(origin, /^at makeRequests \(/)
      assert.deepEqual(out.before, { request: { _total: 10, [origin]: 10 } })
      assert.deepEqual(out.after, { request: { _total: 3, [origin]: 3 } })
      assert.equal(out.events, 7)
      assert.deepEqual(out.eventOrigins, [origin])
      rows.push([major, out.node, out.napi, suite ? `pass; suite ${runSuite(nodeBinary(major))}` : 'pass'])
    } catch (error) {
      failed++
      rows.push([major, out?.node ?? '?', out?.napi ?? '?', `FAIL: ${error.message.split('\n')[0]}`])
    }
  }
} finally {
  fs.rmSync(packed.dir, { recursive: true, force: true })
}

console.log('| Node major | version | Node-API | scenario |')
console.log('|---|---|---|---|')
for (const row of rows) console.log(`| ${row.join(' | ')} |`)
console.log(`\ncompat: ${rows.length - failed} passed, ${failed} failed`)
process.exitCode = failed === 0 ? 0 : 1
