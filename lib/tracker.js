'use strict'

// class WeakTracker: the EventEmitter users hold. The native books (src/, through lib/binding.js)
// count; this class owns the behaviour: argument checks, origins, events, `refs`.

const { EventEmitter } = require('node:events')
const native = require('./binding.js')
const { invalidArgType, outOfRange } = require('./errors.js')
const { takeOver, restore, firstFrames, originOf, retainOrigin, releaseOrigin } = require('./origin.js')
const { collectGarbage } = require('./collect.js')
const why = require('./why.js')

// Where `track` captures its caller: one object reused for every call, which measured about
// 0.1 µs (3%) cheaper per track than capturing onto a fresh one (V8 redefines `stack` in place).
const callerHolder = {}

function isObject(value) {
  return typeof value === 'object' && value !== null
}

// An own, enumerable property, whatever `Object.prototype` has under that name (a getter-only
// accessor would make assignment throw, a setter would swallow it: should.js defines `should`).
function define(target, name, value) {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true })
}

// The counts of one key in a snapshot, or an empty object.
function countsOf(refs, key) {
  return Object.hasOwn(refs, key) ? refs[key] : {}
}

function rethrow(error) {
  throw error
}

function compareText(a, b) {
  return a < b ? -1 : a > b ? 1 : 0
}

// A tracker that is collected while it still has sites gives their origins back to the cache.
const originsOfDroppedTrackers = new FinalizationRegistry((origins) => {
  for (const origin of origins) if (origin !== undefined) releaseOrigin(origin)
})

class WeakTracker extends EventEmitter {
  // The native books (an External), passed to the functions of `native`.
  #native
  // Per site id: its key and origin. JavaScript keeps the names: native code only counts.
  #keys = []
  #origins = []
  // key -> origin -> site id: the cache that lets `track` cross into Rust with a number.
  #ids = new Map()
  #flushing = false

  constructor() {
    super()
    this.#native = native.createTracker(this, WeakTracker.#onCollected)
    originsOfDroppedTrackers.register(this, this.#origins)
  }

  // Called by the native canary's finalizer, after a garbage collection that may have freed
  // tracked objects. Module-level, so the native side holds no closure over a tracker.
  static #onCollected(tracker) {
    tracker.#flush()
  }

  track(key, obj) {
    if (typeof key !== 'string') throw invalidArgType('key', 'string', key, this.track)
    if ((typeof obj !== 'object' || obj === null) && typeof obj !== 'function') {
      throw invalidArgType('obj', 'object', obj, this.track)
    }
    // The caller's frame, captured here rather than in a helper: V8 walks every frame above
    // `below` one by one, at about 0.3 µs each.
    const limit = firstFrames()
    const saved = takeOver(limit)
    let stack
    try {
      Error.captureStackTrace(callerHolder, this.track)
      stack = callerHolder.stack
    } catch {
      // An app prepareStackTrace that throws: originOf falls back.
    } finally {
      // The CallSite holds the caller's receiver, which may be the tracked object itself.
      callerHolder.stack = undefined
      restore(saved)
    }
    const origin = originOf(stack, limit, !saved.setLimit, this.track, saved.prepare)
    native.track(this.#native, this.#siteId(key, origin), obj)
    this.emit('ref', key, origin)
  }

  get refs() {
    native.sweep(this.#native)
    const counts = native.counts(this.#native)
    const refs = {}
    const byKey = new Map()
    for (let id = 0; id < counts.length; id++) {
      const count = counts[id]
      if (count === 0) continue
      const key = this.#keys[id]
      let entry = byKey.get(key)
      if (entry === undefined) {
        entry = { _total: 0 }
        byKey.set(key, entry)
        define(refs, key, entry)
      }
      entry._total += count
      define(entry, this.#origins[id], count)
    }
    return refs
  }

  // Forces full garbage collections, without --expose-gc, and resolves once every 'gc' event
  // they caused has been emitted: `refs` and the events then agree.
  async collect() {
    await collectGarbage(2)
    this.#flush()
  }

  snapshot() {
    const refs = this.refs
    for (const key of Object.keys(refs)) Object.freeze(refs[key])
    return Object.freeze({ time: Date.now(), refs: Object.freeze(refs) })
  }

  diff(before, after = this.snapshot()) {
    checkSnapshot('before', before, this.diff)
    checkSnapshot('after', after, this.diff)
    const changes = []
    for (const key of new Set([...Object.keys(before.refs), ...Object.keys(after.refs)])) {
      const was = countsOf(before.refs, key)
      const now = countsOf(after.refs, key)
      for (const origin of new Set([...Object.keys(was), ...Object.keys(now)])) {
        if (origin === '_total') continue
        const countBefore = Object.hasOwn(was, origin) ? was[origin] : 0
        const countAfter = Object.hasOwn(now, origin) ? now[origin] : 0
        if (countBefore !== countAfter) {
          changes.push({ key, origin, before: countBefore, after: countAfter, delta: countAfter - countBefore })
        }
      }
    }
    return changes.sort((a, b) => b.delta - a.delta || compareText(a.key, b.key) || compareText(a.origin, b.origin))
  }

  suspects(options = {}) {
    if (!isObject(options)) throw invalidArgType('options', 'object', options, this.suspects)
    const { olderThan = 10_000 } = options
    if (typeof olderThan !== 'number') throw invalidArgType('options.olderThan', 'number', olderThan, this.suspects)
    if (!(olderThan >= 0)) throw outOfRange('options.olderThan', '>= 0', olderThan, this.suspects)
    native.sweep(this.#native)
    const flat = native.suspects(this.#native, olderThan)
    const suspects = []
    for (let i = 0; i < flat.length; i += 3) {
      const id = flat[i]
      suspects.push({ key: this.#keys[id], origin: this.#origins[id], count: flat[i + 1], oldestMs: flat[i + 2] })
    }
    return suspects.sort((a, b) => b.count - a.count || b.oldestMs - a.oldestMs)
  }

  // What keeps the live objects of `key` alive: per origin, the shortest retainer paths of up to
  // `limit` of them, from a heap snapshot of this thread.
  async why(key, options = {}) {
    if (typeof key !== 'string') throw invalidArgType('key', 'string', key, this.why)
    if (!isObject(options)) throw invalidArgType('options', 'object', options, this.why)
    const { origin, limit = 20 } = options
    if (origin !== undefined && typeof origin !== 'string') throw invalidArgType('options.origin', 'string', origin, this.why)
    if (typeof limit !== 'number') throw invalidArgType('options.limit', 'number', limit, this.why)
    if (!Number.isInteger(limit) || limit < 1) throw outOfRange('options.limit', 'an integer >= 1', limit, this.why)
    native.sweep(this.#native)
    const counts = native.counts(this.#native)
    const sites = []
    for (const [siteOrigin, id] of this.#ids.get(key) ?? []) {
      if ((origin === undefined || siteOrigin === origin) && counts[id] > 0) sites.push(id)
    }
    if (sites.length === 0) return []
    const found = sites.map((id) => ({ key, origin: this.#origins[id], live: counts[id] }))
    const explanations = await why.explainSetsInTurn(this.#weakSetsOf(sites, limit))
    // V8 collects before it takes a snapshot: what was garbage is gone now, and not explained.
    native.sweep(this.#native)
    const after = native.counts(this.#native)
    sites.forEach((id, i) => {
      const same = this.#keys[id] === key && this.#origins[id] === found[i].origin
      found[i].live = same ? after[id] : 0
    })
    return found
      .map((site, i) => {
        const { explained = 0, paths = [] } = explanations[i] ?? {}
        const header = (count) => `${why.objects(count)} tracked as '${key}' ${site.origin}`
        return {
          ...site,
          explained,
          paths: paths.map((path) => ({ ...path, text: why.pathText(path, header(path.count), `tracked as '${key}'`) })),
        }
      })
      .filter((site) => site.live > 0)
      .sort((a, b) => b.live - a.live)
  }

  // Per site, a WeakSet of up to `limit` of its live objects. Nothing else keeps them: this
  // frame, which held them for a moment, is gone before the snapshot is taken.
  #weakSetsOf(sites, limit) {
    const sets = []
    for (const id of sites) {
      const set = new WeakSet()
      for (const obj of native.sample(this.#native, id, limit)) set.add(obj)
      sets.push(set)
    }
    return sets
  }

  #siteId(key, origin) {
    let byOrigin = this.#ids.get(key)
    if (byOrigin === undefined) {
      byOrigin = new Map()
      this.#ids.set(key, byOrigin)
    }
    let id = byOrigin.get(origin)
    if (id === undefined) {
      id = native.openSite(this.#native)
      byOrigin.set(origin, id)
      this.#keys[id] = key
      this.#origins[id] = origin
      retainOrigin(origin)
    }
    return id
  }

  // Delivers a `'gc'` event per collected object found so far, then forgets call sites with
  // nothing left alive. A listener that throws does not stop the others: its error is rethrown
  // on its own, as an uncaught exception unless the app handles it.
  #flush() {
    if (this.#flushing) return
    this.#flushing = true
    try {
      const books = this.#native
      native.sweep(books)
      const collected = native.drain(books)
      for (let i = 0; i < collected.length; i++) {
        const id = collected[i]
        try {
          this.emit('gc', this.#keys[id], this.#origins[id])
        } catch (error) {
          process.nextTick(rethrow, error)
        }
      }
      for (const id of native.releaseIdle(books)) this.#forget(id)
    } finally {
      this.#flushing = false
    }
  }

  #forget(id) {
    const key = this.#keys[id]
    const origin = this.#origins[id]
    const byOrigin = this.#ids.get(key)
    byOrigin.delete(origin)
    if (byOrigin.size === 0) this.#ids.delete(key)
    this.#keys[id] = undefined
    this.#origins[id] = undefined
    releaseOrigin(origin)
  }
}

// A snapshot as `snapshot()` makes it: an object with an object `refs`.
function checkSnapshot(name, value, caller) {
  if (!isObject(value)) throw invalidArgType(name, 'object', value, caller)
  if (!isObject(value.refs)) throw invalidArgType(`${name}.refs`, 'object', value.refs, caller)
}

// `WeakTracker()` and `new WeakTracker()` both make an independent tracker, and `instanceof` works.
function createWeakTracker() {
  return new WeakTracker()
}
createWeakTracker.prototype = WeakTracker.prototype

module.exports = { WeakTracker, createWeakTracker }
