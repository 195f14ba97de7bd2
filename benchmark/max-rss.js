'use strict'
// Preloaded by benchmark/measure.js (and benchmark/why.js) into a measured process: writes the process's peak RSS to the
// file named by WEAK_TRACKER_MAX_RSS_FILE when it exits.
process.on('exit', () => {
  const file = process.env.WEAK_TRACKER_MAX_RSS_FILE
  if (file) require('node:fs').writeFileSync(file, JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024 }))
})
