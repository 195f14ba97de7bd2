'use strict'

// weak-tracker/prometheus: the process-wide figures as prom-client metrics, computed when the
// registry is scraped (as prom-client's own default metrics are). prom-client is an optional peer
// dependency: it is required only when register() is called. Names, help texts and labels come
// from the native metric families, and values from the same series as metrics(): both writers
// write the same series.

const { series, metricFamilies } = require('./process.js')
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

// Per family, in metricFamilies' order: the flat array of series() it reads, how many values an
// entry has there, and which of them is the family's value (the label values come first, in the
// family's label order).
const columns = [
  ['live', 4, 3],
  ['totals', 4, 2],
  ['totals', 4, 3],
  ['samples', 3, 2],
]

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
  metricFamilies.forEach((family, i) => {
    const [array, width, column] = columns[i]
    const counter = family.kind === 'counter'
    const Metric = counter ? client.Counter : client.Gauge
    new Metric({
      name: counter ? `${family.name}_total` : family.name,
      help: family.help,
      labelNames: family.labels,
      registers,
      collect() {
        this.reset()
        const flat = current()[array]
        for (let j = 0; j < flat.length; j += width) {
          const value = flat[j + column]
          // prom-client writes a counter at 0 only when it is incremented by 0: skip those, as ever.
          if (counter && value === 0) continue
          const labels = {}
          family.labels.forEach((name, k) => (labels[name] = String(flat[j + k])))
          if (counter) this.inc(labels, value)
          else this.set(labels, value)
        }
      },
    })
  })
  return registry
}

module.exports = { register }
