'use strict'

// The process-wide view: the counts of every tracker of every thread (main thread and live
// workers), as each thread last published them, and the same as OpenMetrics text. The table is in
// native code (src/process.rs); no thread waits on another one's event loop.

const native = require('./binding.js')
const { WeakTracker } = require('./tracker.js')
const { refsBuilder } = require('./refs.js')

// Every tracker's live counts, merged per key and origin, in the shape of `refs`.
function processRefs() {
  WeakTracker.publishHere()
  const flat = native.processRefs()
  const built = refsBuilder()
  for (let i = 0; i < flat.length; i += 3) built.add(flat[i], flat[i + 1], flat[i + 2])
  return built.refs
}

// The process-wide figures in the OpenMetrics text format, ending with `# EOF`.
function metrics() {
  WeakTracker.publishHere()
  return native.metrics()
}

// Per-thread series for metrics libraries (lib/prometheus.js).
function series() {
  WeakTracker.publishHere()
  const [live, totals, samples] = native.processSeries()
  return { live, totals, samples }
}

module.exports = { processRefs, metrics, metricsContentType: native.metricsContentType(), series }
