'use strict'

// The tracker shared by everything in this thread that uses weak-tracker without making its own:
// `require('weak-tracker')()`, weak-tracker/assert's default and the register entry's page. Made
// on first use.

const { WeakTracker } = require('./tracker.js')

let shared = null

function sharedTracker() {
  shared ??= new WeakTracker()
  return shared
}

module.exports = { sharedTracker }
