'use strict'

// npm run bench: weak-tracker against the plain-JS tracker (plain-tracker.js) and the bare cost of
// `new Error()`, one fresh process per implementation, scenario and run; prints the medians as a
// Markdown table, the figures the README carries.
//
//   node benchmark/index.js [runs]   (default 5; the 1M-object refs scenario uses 3)

const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { median, fmt, ratio, met } = require('./table.js')

const runs = Number(process.argv[2] ?? 5)
const script = path.join(__dirname, 'scenario.js')


// Medians of every numeric field over `n` processes; booleans must hold in every run.
function measure(impl, scenario, n = runs) {
  const results = []
  for (let i = 0; i < n; i++) {
    process.stderr.write(`${impl} ${scenario} ${i + 1}/${n}\r`)
    results.push(JSON.parse(execFileSync(process.execPath, ['--expose-gc', script, impl, scenario], { encoding: 'utf8' })))
  }
  const out = {}
  for (const field of Object.keys(results[0])) {
    const values = results.map((r) => r[field])
    if (typeof values[0] === 'number') out[field] = median(values)
    else if (typeof values[0] === 'boolean') out[field] = values.every(Boolean)
    else out[field] = values[0]
  }
  return out
}


const wt = {}
const js = {}
for (const scenario of ['track', 'churn', 'rss', 'refsAfterGc', 'gcEvents']) {
  wt[scenario] = measure('weak-tracker', scenario)
  js[scenario] = measure('plain-js', scenario)
}
wt.refsRead = measure('weak-tracker', 'refsRead', Math.min(runs, 3))
js.refsRead = measure('plain-js', 'refsRead', Math.min(runs, 3))
const bareError = measure('new Error()', 'track')
const none = measure('none', 'rss')
// The app's own work with many tracked objects alive: no tracker, plain JS, weak-tracker.
const background = {}
for (const impl of ['none', 'plain-js', 'weak-tracker']) {
  background[impl] = {
    live100k: measure(impl, 'background100k', Math.min(runs, 3)),
    live1M: measure(impl, 'background1M', Math.min(runs, 3)),
  }
}
wt.refsWhileAllocating = measure('weak-tracker', 'refsWhileAllocating', Math.min(runs, 3))
// 50 reads at 1M live take the plain tracker about 20 s: one process.
js.refsWhileAllocating = measure('plain-js', 'refsWhileAllocating', 1)
process.stderr.write(' '.repeat(40) + '\r')

const wtRss = wt.rss.bytesPerObject - none.bytesPerObject
const jsRss = js.rss.bytesPerObject - none.bytesPerObject
const rows = [
  ['`track` ns per call, 200k live', fmt(wt.track.nsPerTrack), fmt(js.track.nsPerTrack), `${ratio(js.track.nsPerTrack, wt.track.nsPerTrack)} faster`, '≥ 4× faster', met(js.track.nsPerTrack / wt.track.nsPerTrack >= 4)],
  ['`track` vs bare `new Error()` (' + fmt(bareError.nsPerTrack) + ' ns)', fmt(wt.track.nsPerTrack), '', `${ratio(wt.track.nsPerTrack, bareError.nsPerTrack)} of it`, '≤ 1.3×', met(wt.track.nsPerTrack / bareError.nsPerTrack <= 1.3)],
  ['churn: track, drop, collect, ns per object', fmt(wt.churn.nsPerObject), fmt(js.churn.nsPerObject), `${ratio(js.churn.nsPerObject, wt.churn.nsPerObject)} faster`, '≥ 4× faster', met(js.churn.nsPerObject / wt.churn.nsPerObject >= 4)],
  ['RSS bytes per live tracked object after `gc()`', fmt(wtRss), fmt(jsRss), ratio(wtRss, jsRss), '≤ ½', met(wtRss / jsRss <= 0.5)],
  ['`refs` read, nothing collected, 10k live (ns)', fmt(wt.refsRead.nsPerRead10000), fmt(js.refsRead.nsPerRead10000), '', '', ''],
  ['`refs` read, nothing collected, 1M live (ns)', fmt(wt.refsRead.nsPerRead1000000), fmt(js.refsRead.nsPerRead1000000), `1M/10k: ${ratio(wt.refsRead.nsPerRead1000000, wt.refsRead.nsPerRead10000)} vs ${ratio(js.refsRead.nsPerRead1000000, js.refsRead.nsPerRead10000)}`, 'independent of live count', met(wt.refsRead.nsPerRead1000000 / wt.refsRead.nsPerRead10000 < 2)],
  ['first `refs` read after `gc()` freed 200k tracked a turn earlier (ms)', `${fmt(wt.refsAfterGc.firstReadMs, 1)}${wt.refsAfterGc.exact ? ', exact' : ', NOT exact'}`, `${fmt(js.refsAfterGc.firstReadMs, 1)}${js.refsAfterGc.exact ? ', exact' : ', not exact'}`, '', 'exact, ≤ 20 ms', met(wt.refsAfterGc.exact && wt.refsAfterGc.firstReadMs <= 20)],
  ...['live100k', 'live1M'].map((live) => {
    const [n, w, j] = ['none', 'weak-tracker', 'plain-js'].map((impl) => background[impl][live].appMs)
    const size = live === 'live1M' ? '1M' : '100k'
    return [
      `app allocating 1 GiB, ${size} tracked objects alive (ms; no tracker ${fmt(n)})`,
      `${fmt(w)} (${ratio(w, n)})`,
      `${fmt(j)} (${ratio(j, n)})`,
      '',
      live === 'live1M' ? '≤ 1.2× no tracker' : 'within noise of no tracker',
      live === 'live1M' ? met(w / n <= 1.2) : '',
    ]
  }),
  ['`JSON.stringify(refs)` while the app allocates, 10k live (ns)', fmt(wt.refsWhileAllocating.nsPerRead10000), fmt(js.refsWhileAllocating.nsPerRead10000), '', '', ''],
  ['`JSON.stringify(refs)` while the app allocates, 1M live (ns)', fmt(wt.refsWhileAllocating.nsPerRead1000000), fmt(js.refsWhileAllocating.nsPerRead1000000), `1M/10k: ${ratio(wt.refsWhileAllocating.nsPerRead1000000, wt.refsWhileAllocating.nsPerRead10000)} vs ${ratio(js.refsWhileAllocating.nsPerRead1000000, js.refsWhileAllocating.nsPerRead10000)}`, '≤ 2× more at 1M', met(wt.refsWhileAllocating.nsPerRead1000000 / wt.refsWhileAllocating.nsPerRead10000 <= 2)],
  ["all `'gc'` events after `gc()` freed 200k (ms)", fmt(wt.gcEvents.allEventsMs, 1), fmt(js.gcEvents.allEventsMs, 1), `${ratio(js.gcEvents.allEventsMs, wt.gcEvents.allEventsMs)} faster`, 'no slower', met(wt.gcEvents.allEventsMs <= js.gcEvents.allEventsMs)],
]

const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
console.log(`Node ${process.version}, ${os.platform()} ${os.arch()}, ${os.cpus().length} × ${cpu}, ${fmt(os.totalmem() / 2 ** 30)} GiB; median of ${runs} processes (3 for refs reads and the 1 GiB app, 1 for the plain tracker's reads while allocating)\n`)
console.log('| figure | weak-tracker | plain JS | ratio | target | |')
console.log('|---|---|---|---|---|---|')
for (const row of rows) console.log(`| ${row.join(' | ')} |`)
