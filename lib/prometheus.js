'use strict'

// weak-tracker/prometheus: the process-wide figures as prom-client metrics, computed when the
// registry is scraped (as prom-client's own default metrics are). prom-client is an optional peer
// dependency: it is required only when register() is called.

const { series } = require('./process.js')
const { invalidArgType } = require('./errors.js')

function loadPromClient() {
  try {
    return require('prom-client')
  } catch (cause) {
    const error = new Error('weak-tracker/prometheus needs prom-client: npm install prom-client', { cause })
    error.code = 'ERR_WEAK_TRACKER_NO_PROM_CLIENT'
    throw error
  }
}

// Adds weak_tracker_live, weak_tracker_tracked_total, weak_tracker_collected_total and
// weak_tracker_sample_ratio to `registry` (default: prom-client's global registry).
function register(registry) {
  const client = loadPromClient()
  registry ??= client.register
  if (!(registry instanceof client.Registry)) throw invalidArgType('registry', 'Registry', registry, register)
  const registers = [registry]
  // One read of the native table per scrape, shared by the four collectors.
  let cached = null
  const current = () => {
    if (cached === null) {
      cached = series()
      setImmediate(() => {
        cached = null
      })
    }
    return cached
  }
  new client.Gauge({
    name: 'weak_tracker_live',
    help: "Live tracked objects per key and line, as of each thread's last sweep.",
    labelNames: ['key', 'origin', 'thread'],
    registers,
    collect() {
      this.reset()
      const { live } = current()
      for (let i = 0; i < live.length; i += 4) this.set({ key: live[i], origin: live[i + 1], thread: String(live[i + 2]) }, live[i + 3])
    },
  })
  for (const [name, help, column] of [
    ['weak_tracker_tracked_total', 'Objects tracked per key.', 2],
    ['weak_tracker_collected_total', 'Tracked objects found collected per key.', 3],
  ]) {
    new client.Counter({
      name,
      help,
      labelNames: ['key', 'thread'],
      registers,
      collect() {
        this.reset()
        const { totals } = current()
        for (let i = 0; i < totals.length; i += 4) {
          if (totals[i + column] > 0) this.inc({ key: totals[i], thread: String(totals[i + 1]) }, totals[i + column])
        }
      },
    })
  }
  new client.Gauge({
    name: 'weak_tracker_sample_ratio',
    help: 'The fraction of track() calls each tracker records.',
    labelNames: ['thread', 'tracker'],
    registers,
    collect() {
      this.reset()
      const { samples } = current()
      for (let i = 0; i < samples.length; i += 3) this.set({ thread: String(samples[i]), tracker: String(samples[i + 1]) }, samples[i + 2])
    },
  })
  return registry
}

module.exports = { register }
