'use strict'

// weak-tracker: which line of your code keeps creating objects that are never garbage-collected.
// The entry is a table of contents; each concern has one home in lib/, and lib/ never requires
// this file (__test__/modules.test.js checks the graph for cycles):
//   lib/tracker.js          class WeakTracker (track, refs, events, collect, snapshot, diff, suspects)
//   lib/shared.js           the tracker shared by everything in this thread: weakTracker()
//   lib/process.js          processRefs(), metrics(), series(): every thread's counts; this thread's trackers
//   lib/refs.js             the shape of `refs`, built safely whatever Object.prototype holds
//   lib/origin.js           the caller's stack line: capture, source maps, the origin cache
//   lib/collect.js          a full garbage collection without --expose-gc
//   lib/errors.js           Node-style argument errors
//   lib/validate.js         argument validators that throw them, and isObject
//   lib/why.js              why(): retainer paths from a heap snapshot
//   lib/page.js             serve() and pageHandler(): the live page, served from lib/page/
//   lib/page/app.js         the page's script, run in the browser (beside index.html and style.css)
//   lib/binding.js          the native part, and why it could not be loaded
//   lib/platform.js         platform names in napi-rs's form, and those with a prebuilt package
// Subpath entries:
//   lib/assert.js           weak-tracker/assert: assertNoLeaks(), assertCollected(), assertNoGrowth()
//   lib/no-growth.js        assertNoGrowth(): the heap's new objects per iteration, with allocation stacks
//   lib/prometheus.js       weak-tracker/prometheus: prom-client collectors
//   lib/register.js         weak-tracker/register (through ../register.js): zero-code sampling and watching
//   lib/sampling.js         live allocations per line, from V8's sampling heap profiler
//   lib/watch.js            requests, responses and sockets expected to be garbage once done
//   lib/format.js           numbers in reports: counts, bytes in binary units
//   lib/report.js           the report of the register entry and of `weak-tracker attach`
// The commands (bin/weak-tracker.js dispatches to lib/commands/<name>.js):
//   lib/commands/why.js     weak-tracker why: retainer paths from a heap snapshot file
//   lib/commands/top.js     weak-tracker top: the largest retainers and the summary by class
//   lib/commands/growth.js  weak-tracker growth: what grew across snapshots of one process
//   lib/commands/attach.js  weak-tracker attach: sample a running app through its inspector
//   lib/attach.js           the inspector client that attach uses
//   lib/commands/errors.js  bad input (exit 1) and usage errors (exit 2)

const { createWeakTracker } = require('./lib/tracker.js')
const { sharedTracker } = require('./lib/shared.js')
const { processRefs, metrics, metricsContentType } = require('./lib/process.js')

// The tracker shared by everything in this thread that requires weak-tracker.
function weakTracker() {
  return sharedTracker()
}

module.exports = weakTracker
module.exports.WeakTracker = createWeakTracker
module.exports.processRefs = processRefs
module.exports.metrics = metrics
module.exports.metricsContentType = metricsContentType
