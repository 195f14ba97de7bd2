'use strict'

// The baseline: weak-tracker's API written in plain JavaScript the obvious way, with the full
// `new Error().stack`, a `WeakRef` per object for `refs`, and a `FinalizationRegistry` for 'gc'.

const { EventEmitter } = require('node:events')

class PlainTracker extends EventEmitter {
  #entries = new Set()
  #registry = new FinalizationRegistry((entry) => {
    this.#entries.delete(entry)
    this.emit('gc', entry.key, entry.origin)
  })

  track(key, obj) {
    const lines = new Error().stack.split('\n').slice(2)
    const line = lines.find((l) => !l.includes('node_modules')) ?? lines[lines.length - 1]
    const origin = line.trim()
    const entry = { ref: new WeakRef(obj), key, origin }
    this.#entries.add(entry)
    this.#registry.register(obj, entry)
    this.emit('ref', key, origin)
  }

  get refs() {
    const refs = {}
    for (const entry of this.#entries) {
      if (entry.ref.deref() === undefined) continue
      const byOrigin = (refs[entry.key] ??= { _total: 0 })
      byOrigin._total++
      byOrigin[entry.origin] = (byOrigin[entry.origin] ?? 0) + 1
    }
    return refs
  }
}

module.exports = () => new PlainTracker()
