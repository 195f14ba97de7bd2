'use strict'

// npm run bench:origins: what finding the origin costs when a library calls track() for the app,
// what a big key costs, and whether the origin cache shrinks back. One fresh process per scenario
// and run; medians printed as a Markdown table, the figures the README carries.
//
//   node benchmark/origins.js [runs]   (default 5)

const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { median, fmt, met } = require('./table.js')

const runs = Number(process.argv[2] ?? 5)
const script = path.join(__dirname, 'origin-scenario.js')


function measure(scenario, field, n = runs) {
  const values = []
  let last
  for (let i = 0; i < n; i++) {
    process.stderr.write(`${scenario} ${i + 1}/${n}\r`)
    last = JSON.parse(execFileSync(process.execPath, ['--expose-gc', script, scenario], { encoding: 'utf8', maxBuffer: 1 << 26 }))
    values.push(last[field])
  }
  return { ...last, [field]: median(values) }
}


const direct = measure('direct', 'ns')
const library3 = measure('library3', 'ns')
const library150 = measure('library150', 'ns')
const library250 = measure('library250', 'ns', Math.min(runs, 3))
const bigKey = measure('bigKey', 'addedMiB', Math.min(runs, 3))
const evalScripts = measure('evalScripts', 'afterCollected', 1)
process.stderr.write(' '.repeat(40) + '\r')

const appLine = (r) => r.origins.length === 1 && r.origins[0].startsWith('at appLine (')
const rows = [
  ['`track` from app code, ns', fmt(direct.ns), '', ''],
  ['`track` through 3 library frames, ns', fmt(library3.ns), `${fmt(library3.ns / direct.ns, 2)}× direct`, `≤ 1.5×: ${met(library3.ns / direct.ns <= 1.5)}`],
  ['`track` through 150 library frames, ns', fmt(library150.ns), `${fmt(library150.ns / direct.ns, 2)}× direct`, `≤ 5×: ${met(library150.ns / direct.ns <= 5)}`],
  ['`track` through 250 library frames, ns', fmt(library250.ns), `${fmt(library250.ns / direct.ns, 2)}× direct`, `app line found: ${appLine(library250) && appLine(library150) && appLine(library3)}`],
  ['RSS added by a 10 MB key tracked from 20 lines, MiB', fmt(bigKey.addedMiB, 1), `${bigKey.origins} origins`, `≤ 30 MiB: ${met(bigKey.addedMiB <= 30)}`],
  ['cached origins: 100k scripts live / all collected', `${fmt(evalScripts.whileLive)} / ${fmt(evalScripts.afterCollected)}`, '', `O(live sites): ${met(evalScripts.afterCollected === 0)}`],
]

console.log(`Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0].model.trim()}, median of ${runs} processes\n`)
console.log('| measure | weak-tracker | relative | target |')
console.log('|---|---|---|---|')
for (const row of rows) console.log(`| ${row.join(' | ')} |`)
