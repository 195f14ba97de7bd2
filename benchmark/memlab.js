'use strict'

// node benchmark/memlab.js [runs]   (default 3)
//
// weak-tracker's heap commands against memlab 2.0.5, in one run, on the same files:
//   1. the benchmark snapshot (benchmark/why-scenario.js: 300k Item objects in an array and a Map,
//      a real Node snapshot of ~104 MiB): `weak-tracker top --json` against `memlab analyze
//      object-size`, and `weak-tracker why --class Item --json` against `memlab trace --node-id`
//      on an Item; wall time and peak RSS of each process, median of `runs` alternating runs;
//   2. agreement: the retained sizes of top's 20 largest retainers against memlab's for the same
//      node ids (its getFullHeapFromFile, node.retainedSize), and for each difference the edges
//      that make it (benchmark/memlab-agreement.js rebuilds both tools' graphs from the snapshot);
//   3. growth: three snapshots of one small leaking app (benchmark/memlab-app.js, after 200, 5,200
//      and 10,200 requests): `weak-tracker growth --json` against `memlab analyze unbound-object`.
// memlab must be installed under ~/.cache/weak-tracker/memlab (`PUPPETEER_SKIP_DOWNLOAD=1 npm
// install --prefix ~/.cache/weak-tracker/memlab memlab@2.0.5`). Snapshots are written to a private
// temporary directory, removed at the end. Prints markdown tables.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { measure: measureProcess, gnuTime } = require('./measure.js')
const { median, fmt, met } = require('./table.js')

const runs = Number(process.argv[2] ?? 3)
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write('usage: node benchmark/memlab.js [runs]\n')
  process.exit(2)
}
const cli = path.join(__dirname, '../bin/weak-tracker.js')
const memlabDir = path.join(os.homedir(), '.cache/weak-tracker/memlab')
const memlab = path.join(memlabDir, 'node_modules/@memlab/cli/bin/memlab.js')
if (!fs.existsSync(memlab)) {
  process.stderr.write(`memlab is not installed: PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix ${memlabDir} memlab@2.0.5\n`)
  process.exit(1)
}

// Runs `node ARGS` (benchmark/measure.js) with its CPU seconds where GNU time is installed; a
// failed run stops the benchmark.
function measure(args) {
  const m = measureProcess(args, { cpu: true })
  if (m.status !== 0) throw new Error(`node ${args.join(' ')} failed (${m.signal ?? m.status}): ${String(m.stderr).slice(0, 300)}`)
  return m
}

// The last line of a memlab helper's stdout (memlab writes its progress there too).
const lastLine = (text) => JSON.parse(text.trim().split('\n').pop())
// What memlab printed for people (it writes its results to stdout or stderr), without colours.
const printed = (m) => `${m.stdout}\n${m.stderr}`.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
const progress = (text) => process.stderr.write(`${text.padEnd(60)}\r`)
const mib = (b) => `${fmt(b / 2 ** 20)} MiB`
const secs = (s) => `${fmt(s, 2)} s`
const bytes = (b) => fmt(b)
const range = (xs, f) => (xs.length > 1 ? ` (${f(Math.min(...xs))}–${f(Math.max(...xs))})` : '')

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-bench-memlab-'))
fs.chmodSync(dir, 0o700)
const load = [os.loadavg()]
try {
  // 1. The benchmark snapshot, as benchmark/why.js makes it.
  progress('writing the benchmark snapshot')
  const file = path.join(dir, 'heap.heapsnapshot')
  const written = measure([path.join(__dirname, 'why-scenario.js'), 'write', file])
  const size = fs.statSync(file).size

  // 2. Agreement first: it also gives the Item id memlab trace is asked about.
  progress('weak-tracker top --json')
  const top = JSON.parse(measure([cli, 'top', file, '--json']).stdout)
  const ids = top.retainers.map((r) => r.id)
  progress('memlab getFullHeapFromFile')
  const theirs = lastLine(measure([path.join(__dirname, 'memlab-agreement.js'), 'memlab', memlabDir, file, ...ids.map(String)]).stdout)
  progress('rebuilding both graphs')
  const model = JSON.parse(measure([path.join(__dirname, 'memlab-agreement.js'), 'model', file, ...ids.map(String)]).stdout)
  if (theirs.item === null) throw new Error('memlab found no Item in the snapshot')

  const cmds = {
    top: [cli, 'top', file, '--json'],
    objectSize: [memlab, 'analyze', 'object-size', '--snapshot', file],
    why: [cli, 'why', file, '--class', 'Item', '--json'],
    trace: [memlab, 'trace', '--snapshot', file, `--node-id=${theirs.item}`],
  }
  const times = Object.fromEntries(Object.keys(cmds).map((k) => [k, []]))
  let whyReport = null
  let traceText = ''
  for (let i = 0; i < runs; i++) {
    for (const [k, args] of Object.entries(cmds)) {
      progress(`${k} ${i + 1}/${runs}`)
      const m = measure(args)
      times[k].push(m)
      if (k === 'why') whyReport = JSON.parse(m.stdout)
      if (k === 'trace') traceText = printed(m)
    }
  }
  load.push(os.loadavg())

  // 3. Growth of a small leaking app.
  progress('the leaking app')
  const gdir = path.join(dir, 'growth')
  fs.mkdirSync(gdir)
  const app = JSON.parse(measure([path.join(__dirname, 'memlab-app.js'), gdir]).stdout)
  const growth = { ours: [], theirs: [] }
  let growthReport = null
  let unboundText = ''
  for (let i = 0; i < runs; i++) {
    progress(`growth ${i + 1}/${runs}`)
    const m = measure([cli, 'growth', ...app.files, '--json'])
    growth.ours.push(m)
    growthReport = JSON.parse(m.stdout)
    const u = measure([memlab, 'analyze', 'unbound-object', '--snapshot-dir', gdir])
    growth.theirs.push(u)
    unboundText = printed(u)
  }
  load.push(os.loadavg())
  process.stderr.write(`${' '.repeat(60)}\r`)

  // Printing.
  const cpu = os.cpus()[0]?.model.trim() ?? 'cpu'
  console.log(`Node ${process.version}, nproc ${os.availableParallelism?.() ?? os.cpus().length} × ${cpu}; load average (1 min) ${load.map((l) => fmt(l[0], 2)).join(' → ')} over the run; memlab 2.0.5; median of ${runs} alternating runs (min–max)\n`)
  console.log(`### 1. The benchmark snapshot (${mib(size)}, ${fmt(top.nodeCount)} nodes, ${fmt(top.edgeCount)} edges; written in ${secs(written.seconds)})\n`)
  console.log('| measure | weak-tracker | memlab 2.0.5 | ratio | target | |')
  console.log('|---|---|---|---|---|---|')
  const pair = (what, ours, theirsRuns) => {
    const t = median(ours.map((m) => m.seconds))
    const tm = median(theirsRuns.map((m) => m.seconds))
    const r = median(ours.map((m) => m.rss))
    const rm = median(theirsRuns.map((m) => m.rss))
    console.log(`| ${what[0]} vs ${what[1]}: wall time | ${secs(t)}${range(ours.map((m) => m.seconds), secs)} | ${secs(tm)}${range(theirsRuns.map((m) => m.seconds), secs)} | ${fmt(tm / t, 1)}× faster | ≥ 10× faster | ${met(tm / t >= 10)} |`)
    if (gnuTime) {
      const c = median(ours.map((m) => m.cpu))
      const cm = median(theirsRuns.map((m) => m.cpu))
      console.log(`| ${what[0]} vs ${what[1]}: CPU time (user + sys) | ${secs(c)}${range(ours.map((m) => m.cpu), secs)} | ${secs(cm)}${range(theirsRuns.map((m) => m.cpu), secs)} | ${fmt(cm / c, 1)}× less | | |`)
    }
    console.log(`| ${what[0]} vs ${what[1]}: peak RSS | ${mib(r)}${range(ours.map((m) => m.rss), mib)} | ${mib(rm)}${range(theirsRuns.map((m) => m.rss), mib)} | ${fmt((100 * r) / rm)}% | ≤ 40% | ${met(r / rm <= 0.4)} |`)
  }
  pair(['`top --json`', '`analyze object-size`'], times.top, times.objectSize)
  pair(['`why --class Item --json`', '`trace --node-id`'], times.why, times.trace)
  const ourPath = whyReport.paths[0]?.steps.map((s) => s.edge).slice(1).join(' → ')
  const theirPath = [...traceText.matchAll(/--(\S+) \((\w+)\)--->/g)].map((m) => m[1]).join(' → ')
  console.log(`\nwhy: ${fmt(whyReport.live)} Item objects, ${whyReport.explained} explained, first path by edge: ${ourPath}; memlab trace of Item @${theirs.item}: ${theirPath}`)

  console.log(`\n### 2. Agreement: retained sizes of the ${ids.length} largest retainers (bytes)\n`)
  // One column per kind of difference seen: who counts the objects, and through which edges.
  const kinds = new Map()
  for (const m of model) {
    for (const x of m.reasons) {
      const key = `${x.side}|${x.how}|${x.reason}`
      const k = kinds.get(key) ?? { ...x, edges: new Set() }
      x.edges.forEach((e) => k.edges.add(e))
      kinds.set(key, k)
    }
  }
  const columns = [...kinds.keys()]
  const heading = (key, i) => `(${String.fromCharCode(97 + i)}) ${kinds.get(key).side === 'ours' ? 'weak-tracker' : 'memlab'} only`
  console.log(`| # | id | name | weak-tracker | memlab | memlab − ours | ${columns.map(heading).join(' | ')} |`)
  console.log(`|---|---|---|---|---|---|${columns.map(() => '---|').join('')}`)
  let reproduced = 0
  top.retainers.forEach((r, i) => {
    const m = model.find((x) => x.id === r.id)
    const ml = theirs.sizes[r.id]
    if (m && m.ours === r.retainedSize && m.memlab === ml) reproduced++
    const cells = columns.map((key) => {
      const x = m?.reasons.find((y) => `${y.side}|${y.how}|${y.reason}` === key)
      return x ? `${fmt(x.objects)} obj, ${bytes(x.bytes)} B` : ''
    })
    const diff = ml === null ? '—' : `${ml - r.retainedSize > 0 ? '+' : ''}${bytes(ml - r.retainedSize)}`
    console.log(`| ${i + 1} | @${r.id} | ${r.name} (${r.nodeType}) | ${bytes(r.retainedSize)} | ${ml === null ? '—' : bytes(ml)} | ${diff} | ${cells.join(' | ')} |`)
  })
  console.log('')
  columns.forEach((key, i) => {
    const k = kinds.get(key)
    const who = k.side === 'ours' ? 'weak-tracker' : 'memlab'
    const other = k.side === 'ours' ? 'memlab' : 'weak-tracker'
    const edges = [...k.edges]
    const examples = `${edges.slice(0, 4).join(', ')}${edges.length > 4 ? ', …' : ''}`
    console.log(
      k.how === 'only'
        ? `(${String.fromCharCode(97 + i)}) objects ${who} counts and ${other} does not: held only through ${k.reason}, which ${other} does not count as owning (${examples}).`
        : `(${String.fromCharCode(97 + i)}) objects ${who} counts and ${other} does not: ${other} also reaches them through ${k.reason}, which ${who} does not count as owning (${examples}).`,
    )
  })
  console.log(`\nThe two edge rules, applied to the snapshot in plain JavaScript (benchmark/memlab-agreement.js), reproduce both columns exactly for ${reproduced} of ${ids.length} ids; (a), (b), … add up to the difference.`)

  console.log(`\n### 3. Growth: three snapshots of one leaking app (${app.files.map((f) => mib(fs.statSync(f).size)).join(', ')}; ${fmt(app.leaked)} leaked listeners)\n`)
  console.log('| measure | weak-tracker `growth --json` | memlab `analyze unbound-object` | ratio |')
  console.log('|---|---|---|---|')
  const gt = median(growth.ours.map((m) => m.seconds))
  const gtm = median(growth.theirs.map((m) => m.seconds))
  const gr = median(growth.ours.map((m) => m.rss))
  const grm = median(growth.theirs.map((m) => m.rss))
  console.log(`| wall time | ${secs(gt)}${range(growth.ours.map((m) => m.seconds), secs)} | ${secs(gtm)}${range(growth.theirs.map((m) => m.seconds), secs)} | ${fmt(gtm / gt, 1)}× faster |`)
  if (gnuTime) {
    const c = median(growth.ours.map((m) => m.cpu))
    const cm = median(growth.theirs.map((m) => m.cpu))
    console.log(`| CPU time (user + sys) | ${secs(c)}${range(growth.ours.map((m) => m.cpu), secs)} | ${secs(cm)}${range(growth.theirs.map((m) => m.cpu), secs)} | ${fmt(cm / c, 1)}× less |`)
  }
  console.log(`| peak RSS | ${mib(gr)}${range(growth.ours.map((m) => m.rss), mib)} | ${mib(grm)}${range(growth.theirs.map((m) => m.rss), mib)} | ${fmt((100 * gr) / grm)}% |`)
  console.log('\nweak-tracker, objects that grew at every step:')
  for (const u of growthReport.unbound) console.log(`- ${u.name} (@${u.id}): ${u.retainedSizes.map(bytes).join(' → ')} B; path ${u.path.map((s) => s.edge).slice(1).join(' → ')}`)
  console.log('\nweak-tracker, new objects by class (counts per snapshot), first 6:')
  for (const g of growthReport.newObjects.slice(0, 6)) console.log(`- ${g.class.replace(`${__dirname}${path.sep}`, '')}: ${g.counts.map((c) => fmt(c)).join(' → ')}${g.growing ? ' (grew at every step)' : ''}`)
  console.log('\nmemlab, top growing objects:')
  for (const line of unboundText.split('\n').filter((l) => l.startsWith('·'))) console.log(`- ${line.slice(2).trim()}`)
} finally {
  fs.rmSync(dir, { recursive: true, force: true })
}
