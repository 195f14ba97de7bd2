'use strict'

// The determinism of assertNoGrowth(): each clean function of __test__/fixtures/growth-cases.js
// must pass and each leak pattern fail (naming its allocating function) in every one of RUNS fresh
// processes. Prints the counts. Usage: node benchmark/no-growth-flakes.js [runs] [only-name]

const { spawnSync } = require('node:child_process')
const path = require('node:path')

const runs = Number(process.argv[2] ?? 30)
const only = process.argv[3]
const fixture = path.join(__dirname, '../__test__/fixtures/growth-cases.js')
const assertPath = path.join(__dirname, '../lib/assert.js')

// One fresh process per case and run: what the case does first happens in every run.
const child = `
const { assertNoGrowth } = require(${JSON.stringify(assertPath)})
const cases = require(${JSON.stringify(fixture)})
const name = process.argv[1]
const leak = cases.leaks[name]
assertNoGrowth(leak ? leak.fn : cases.clean[name]).then(
  () => { cases.close(); console.log(JSON.stringify({ passed: true })) },
  (e) => { cases.close(); console.log(JSON.stringify({ passed: false, named: leak ? new RegExp('\\\\n\\\\s+' + leak.allocator + ' \\\\(.*growth-cases\\\\.js:\\\\d+:\\\\d+\\\\)').test(e.message) : false, message: e.message })) })
`

const { clean, leaks } = require(fixture)
const rows = []
for (const [name, expectPass] of [...Object.keys(clean).map((n) => [n, true]), ...Object.keys(leaks).map((n) => [n, false])]) {
  if (only && name !== only) continue
  let right = 0
  let wrong = 0
  let example = ''
  for (let i = 0; i < runs; i++) {
    const out = spawnSync(process.execPath, ['-e', child, name], { encoding: 'utf8', timeout: 60_000 })
    let result
    try {
      result = JSON.parse(out.stdout.trim().split('\n').pop())
    } catch {
      result = { passed: null, message: out.stderr }
    }
    const ok = expectPass ? result.passed === true : result.passed === false && result.named
    if (ok) right++
    else {
      wrong++
      example ||= result.message
    }
  }
  rows.push({ case: name, expected: expectPass ? 'pass' : 'fail', right, wrong })
  if (example) console.error(`--- ${name}:\n${example}\n`)
}
console.table(rows)
const bad = rows.filter((r) => r.wrong > 0)
console.log(`${rows.length} cases × ${runs} runs: ${bad.length === 0 ? 'no flakes' : `${bad.reduce((n, r) => n + r.wrong, 0)} wrong outcomes`}`)
