'use strict'

// One measurement of benchmark/process.js in a fresh process. Prints one JSON object.
//
//   sampling      ns per track() unsampled and with sample: 0.01, same process
//   view LIVE     8 workers track LIVE objects in all from 1,000 origins (125 each); the main
//                 thread times processRefs() and metrics()

const vm = require('node:vm')
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads')

const now = () => process.hrtime.bigint()

if (!isMainThread) {
  const wt = require('..')()
  const kept = []
  // 125 origins: a function per script, each its own line of code.
  const lines = Array.from({ length: 125 }, (_, i) =>
    vm.runInThisContext('(wt, kept) => { const o = {}; kept.push(o); wt.track("job", o) }', { filename: `worker-${workerData.index}-origin-${i}.js` }),
  )
  for (let i = 0; i < workerData.live; i++) lines[i % lines.length](wt, kept)
  setImmediate(() => parentPort.postMessage(kept.length))
  parentPort.on('message', () => process.exit(0))
} else {
  const [scenario, arg] = process.argv.slice(2)
  const { WeakTracker, processRefs, metrics } = require('..')
  async function main() {
    let result
    if (scenario === 'sampling') {
      const time = (wt, n) => {
        const kept = []
        const start = now()
        for (let i = 0; i < n; i++) {
          const o = {}
          kept.push(o)
          wt.track('k', o)
        }
        return Number(now() - start) / n
      }
      // The loop's own work (an object made and kept) is measured with a tracker that does
      // nothing, and taken off both.
      const none = { track() {} }
      const full = WeakTracker()
      const sampled = WeakTracker({ sample: 0.01 })
      time(none, 200_000)
      time(full, 20_000)
      time(sampled, 200_000)
      const loop = time(none, 1_000_000)
      result = { loop, full: time(full, 100_000) - loop, sampled: time(sampled, 1_000_000) - loop }
    } else {
      const live = Number(arg)
      const workers = Array.from({ length: 8 }, (_, index) => new Worker(__filename, { workerData: { index, live: live / 8 } }))
      await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))))
      const timeOf = (fn, n) => {
        fn()
        const start = now()
        for (let i = 0; i < n; i++) fn()
        return Number(now() - start) / n / 1e6
      }
      const refs = processRefs()
      result = {
        origins: Object.keys(refs.job).length - 1,
        live: refs.job._total,
        refsMs: timeOf(processRefs, 50),
        metricsMs: timeOf(metrics, 50),
      }
      for (const w of workers) w.postMessage('end')
    }
    process.stdout.write(JSON.stringify({ scenario, node: process.version, ...result }))
  }
  main()
}
