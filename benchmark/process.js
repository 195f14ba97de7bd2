'use strict'

// npm run bench:process: the cost of sampling, and of the process-wide view with many threads,
// origins and live objects. Prints a Markdown table; figures go into the README.
//
//   node benchmark/process.js [runs]   (default 5)

const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { median, fmt, met } = require('./table.js')

const runs = Number(process.argv[2] ?? 5)
const script = path.join(__dirname, 'process-scenario.js')


function measure(scenario, ...args) {
  const results = []
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`${scenario} ${args.join(' ')} ${i + 1}/${runs}\r`)
    results.push(JSON.parse(execFileSync(process.execPath, ['--expose-gc', script, scenario, ...args], { encoding: 'utf8' })))
  }
  const out = {}
  for (const field of Object.keys(results[0])) out[field] = typeof results[0][field] === 'number' ? median(results.map((r) => r[field])) : results[0][field]
  return out
}


const sampling = measure('sampling')
const small = measure('view', '1000')
const big = measure('view', '1000000')
process.stderr.write(' '.repeat(50) + '\r')

console.log(`Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0].model.trim()}; median of ${runs} processes\n`)
console.log('| measure | value | target | |')
console.log('|---|---|---|---|')
console.log(`| \`track()\` unsampled, ns per call (the loop's own ${fmt(sampling.loop)} ns taken off) | ${fmt(sampling.full)} | | |`)
console.log(`| \`track()\` with \`sample: 0.01\`, ns per call (average) | ${fmt(sampling.sampled)} (${fmt((100 * sampling.sampled) / sampling.full, 1)}%) | ≤ 5% of unsampled | ${met(sampling.sampled / sampling.full <= 0.05)} |`)
for (const [label, r] of [['1k', small], ['1M', big]]) {
  console.log(`| \`processRefs()\`, 8 workers, ${fmt(r.origins)} origins, ${label} live, ms per call | ${fmt(r.refsMs, 2)} | ≤ 5 ms | ${met(r.refsMs <= 5)} |`)
  console.log(`| \`metrics()\`, same, ms per call | ${fmt(r.metricsMs, 2)} | ≤ 5 ms | ${met(r.metricsMs <= 5)} |`)
}
console.log(`\nLive objects seen by processRefs(): ${fmt(small.live)} and ${fmt(big.live)}; the cost does not depend on them (${fmt(big.refsMs / small.refsMs, 2)}× for 1,000 times as many).`)
