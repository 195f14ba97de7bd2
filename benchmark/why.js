'use strict'

// npm run bench:why: explaining a 300k-object heap. The snapshot command against memlab on the same
// file, and why() in process against V8's own v8.writeHeapSnapshot() on the same heap (the floor:
// why() has to have V8 serialise the snapshot too). memlab is installed by this script into
// ~/.cache/weak-tracker-bench (or $WEAK_TRACKER_BENCH_CACHE) on first use. The snapshot file lives
// in a private temporary directory that is removed at the end.
//
//   node benchmark/why.js [runs]   (default 3)

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { median, fmt, met } = require('./table.js')
const { npm } = require('../scripts/packaged.js')

const runs = Number(process.argv[2] ?? 3)
const scenario = path.join(__dirname, 'why-scenario.js')
const cli = path.join(__dirname, '../bin/weak-tracker.js')
const cache = process.env.WEAK_TRACKER_BENCH_CACHE || path.join(os.homedir(), '.cache', 'weak-tracker-bench')
const MEMLAB = '2.0.5'

function memlabDir() {
  const dir = path.join(cache, `memlab-${MEMLAB}`)
  if (!fs.existsSync(path.join(dir, 'node_modules/@memlab/heap-analysis'))) {
    fs.mkdirSync(dir, { recursive: true })
    fs.writeFileSync(path.join(dir, 'package.json'), '{"private":true}')
    // Scripts off: puppeteer's would download a browser, which the heap analysis does not use.
    npm(['install', `@memlab/heap-analysis@${MEMLAB}`, '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir })
  }
  return dir
}


function run(args, label) {
  process.stderr.write(`${label}\r`)
  return JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 }))
}

function medianOf(results, field) {
  return median(results.map((r) => r[field]))
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-bench-why-'))
fs.chmodSync(dir, 0o700)
try {
  const file = path.join(dir, 'heap.heapsnapshot')
  const written = run([scenario, 'write', file], 'writing the snapshot')
  const memlab = memlabDir()
  const cliRuns = []
  const memlabRuns = []
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`command ${i + 1}/${runs}\r`)
    const rss = path.join(dir, 'rss.json')
    const start = process.hrtime.bigint()
    execFileSync(process.execPath, ['--require', path.join(__dirname, 'max-rss.js'), cli, 'why', file, '--class', 'Item', '--json'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, WEAK_TRACKER_MAX_RSS_FILE: rss },
    })
    cliRuns.push({ ms: Number(process.hrtime.bigint() - start) / 1e6, maxRssBytes: JSON.parse(fs.readFileSync(rss, 'utf8')).maxRssBytes })
    memlabRuns.push(run([scenario, 'memlab', memlab, file], `memlab ${i + 1}/${runs}`))
  }
  const report = JSON.parse(execFileSync(process.execPath, [cli, 'why', file, '--class', 'Item', '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 }))
  const whyRuns = []
  const writeRuns = []
  for (let i = 0; i < runs; i++) {
    whyRuns.push(run([scenario, 'why'], `why() ${i + 1}/${runs}`))
    writeRuns.push(run([scenario, 'inprocess-write'], `writeHeapSnapshot ${i + 1}/${runs}`))
  }
  process.stderr.write(' '.repeat(40) + '\r')

  const mib = (b) => `${fmt(b / 2 ** 20)} MiB`
  const cliMs = medianOf(cliRuns, 'ms')
  const cliRss = medianOf(cliRuns, 'maxRssBytes')
  const memlabMs = medianOf(memlabRuns, 'ms')
  const memlabRss = medianOf(memlabRuns, 'maxRssBytes')
  const whyMs = medianOf(whyRuns, 'ms')
  const writeMs = medianOf(writeRuns, 'ms')
  const whyAdded = medianOf(whyRuns, 'addedPeakBytes')
  const writeAdded = medianOf(writeRuns, 'addedPeakBytes')
  console.log(`Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0].model.trim()}; a heap of 300k class instances (an array and a Map), snapshot ${mib(written.bytes)}; median of ${runs} processes\n`)
  console.log('| measure | weak-tracker | anchor | ratio | target | |')
  console.log('|---|---|---|---|---|---|')
  console.log(`| explain one class in the snapshot file: time | ${fmt(cliMs)} ms | memlab ${MEMLAB}: ${fmt(memlabMs)} ms | ${fmt(memlabMs / cliMs, 1)}× faster | ≥ 10× faster | ${met(memlabMs / cliMs >= 10)} |`)
  console.log(`| explain one class in the snapshot file: peak RSS | ${mib(cliRss)} | memlab: ${mib(memlabRss)} | ${fmt((100 * cliRss) / memlabRss)}% | ≤ 40% | ${met(cliRss / memlabRss <= 0.4)} |`)
  console.log(`| why() in process, 300k live: time | ${fmt(whyMs)} ms | v8.writeHeapSnapshot(): ${fmt(writeMs)} ms | ${fmt(whyMs / writeMs, 2)}× | ≤ 1.3× | ${met(whyMs / writeMs <= 1.3)} |`)
  console.log(`| why() in process: peak RSS added | ${mib(whyAdded)} | v8.writeHeapSnapshot(): ${mib(writeAdded)} | beyond it: ${mib(whyAdded - writeAdded)}, ${fmt((whyAdded - writeAdded) / written.bytes, 2)}× the snapshot's size | ≤ 1× the snapshot's size | ${met(whyAdded - writeAdded <= written.bytes)} |`)
  console.log(`\nThe command: ${report.live} Item objects reachable, ${report.explained} explained in ${report.paths.length} path shapes; why(): ${whyRuns[0].live} live, ${whyRuns[0].explained} explained in ${whyRuns[0].shapes} shapes.`)
} finally {
  fs.rmSync(dir, { recursive: true, force: true })
}
