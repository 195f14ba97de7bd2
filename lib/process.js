'use strict'

// The process-wide view: the counts of every tracker of every thread (main thread and live
// workers), and the same as OpenMetrics text. The table is in native code (src/process/): an
// object counts there as soon as track() returns, a free once its thread has swept (after the
// collection, at its next turn). No thread waits on another one's event loop.

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

// The series of metrics(), for metrics libraries (lib/prometheus.js) and the live page: one entry
// per label set, names as UTF-8 text makes them.
function series() {
  WeakTracker.publishHere()
  const [live, totals, samples] = native.processSeries()
  return { live, totals, samples }
}

// The metric families of metrics(), in its order: { name, kind, help, labels } each. The one
// definition of names, help texts and labels (src/process/openmetrics.rs).
const metricFamilies = Object.freeze(native.metricFamilies().map((family) => Object.freeze(family)))

module.exports = { processRefs, metrics, metricsContentType: native.metricsContentType(), series, metricFamilies }
