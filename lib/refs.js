'use strict'

// The shape of `refs`: `{ [key]: { _total, [origin]: count } }`, every key and origin an own
// property whatever `Object.prototype` has under that name (a getter-only accessor would make
// assignment throw, a setter would swallow it: should.js defines `should`).

function define(target, name, value) {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true })
}

// Collects counts into a new refs object: `add(key, origin, count)` for each, then `refs`.
function refsBuilder() {
  const refs = {}
  const byKey = new Map()
  return {
    refs,
    add(key, origin, count) {
      let entry = byKey.get(key)
      if (entry === undefined) {
        entry = { _total: 0 }
        byKey.set(key, entry)
        define(refs, key, entry)
      }
      entry._total += count
      define(entry, origin, (Object.hasOwn(entry, origin) ? entry[origin] : 0) + count)
    },
  }
}

module.exports = { refsBuilder }
