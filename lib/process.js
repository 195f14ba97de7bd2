'use strict'

// The process-wide view: the counts of every tracker of every thread (main thread and live
// workers), and the same as OpenMetrics text. The table is in native code (src/process/): an
// object counts there as soon as track() returns, in any thread; a free once its thread has swept
// (after the collection, at its next turn, or when this thread reads the view). No thread waits on
// another one's event loop.
//
// This thread's trackers are registered here, weakly, by lib/tracker.js: reading the view sweeps
// them first, so that this thread's frees show at once.

const native = require('./binding.js')
const { refsBuilder } = require('./refs.js')

// One entry `{ ref, sweep }` per live tracker of this thread: a WeakRef to it, and the function
// that sweeps a tracker's books (a class-level function: the registry holds no closure over one).
const trackersHere = new Set()
const forgetTracker = new FinalizationRegistry((entry) => trackersHere.delete(entry))

// Registers `tracker`, whose books `sweep(tracker)` brings up to date, as one of this thread's.
function addTracker(tracker, sweep) {
  const entry = { ref: new WeakRef(tracker), sweep }
  trackersHere.add(entry)
  forgetTracker.register(tracker, entry)
}

// Brings the frees of every tracker of this thread into the process-wide view (a sweep, if a
// collection has run). Tracked objects need nothing: track() counts them there before returning.
function publishHere() {
  for (const { ref, sweep } of trackersHere) {
    const tracker = ref.deref()
    if (tracker !== undefined) sweep(tracker)
  }
}

// Every tracker's live counts, merged per key and origin, in the shape of `refs`.
function processRefs() {
  publishHere()
  const flat = native.processRefs()
  const built = refsBuilder()
  for (let i = 0; i < flat.length; i += 3) built.add(flat[i], flat[i + 1], flat[i + 2])
  return built.refs
}

// The process-wide figures in the OpenMetrics text format, ending with `# EOF`.
function metrics() {
  publishHere()
  return native.metrics()
}

// The series of metrics(), for metrics libraries (lib/prometheus.js) and the live page: one entry
// per label set, names as UTF-8 text makes them.
function series() {
  publishHere()
  const [live, totals, samples] = native.processSeries()
  return { live, totals, samples }
}

// The metric families of metrics(), in its order: { name, kind, help, labels } each. The one
// definition of names, help texts and labels (src/process/openmetrics.rs).
const metricFamilies = Object.freeze(native.metricFamilies().map((family) => Object.freeze(family)))

module.exports = {
  addTracker,
  processRefs,
  metrics,
  metricsContentType: native.metricsContentType(),
  series,
  metricFamilies,
}
