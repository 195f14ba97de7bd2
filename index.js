'use strict'

// weak-tracker: which line of your code keeps creating objects that are never garbage-collected.
// The entry is a table of contents; each capability lives in lib/:
//   lib/tracker.js  class WeakTracker (track, refs, events, collect, snapshot, diff, suspects)
//   lib/origin.js   the caller's stack line: capture, source maps, the origin cache
//   lib/collect.js  a full garbage collection without --expose-gc
//   lib/errors.js   Node-style argument errors
//   lib/why.js      why(): retainer paths from a heap snapshot
//   lib/process.js  processRefs() and metrics(): every thread's counts
//   lib/binding.js  the native part, and why it could not be loaded
// Subpath entries: weak-tracker/assert (lib/assert.js), weak-tracker/prometheus (lib/prometheus.js).

const { WeakTracker, createWeakTracker } = require('./lib/tracker.js')
const { processRefs, metrics, metricsContentType } = require('./lib/process.js')

let shared = null

// The tracker shared by everything in this thread that requires weak-tracker.
function weakTracker() {
  shared ??= new WeakTracker()
  return shared
}

module.exports = weakTracker
module.exports.WeakTracker = createWeakTracker
module.exports.processRefs = processRefs
module.exports.metrics = metrics
module.exports.metricsContentType = metricsContentType
