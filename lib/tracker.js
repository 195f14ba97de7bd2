'use strict'

// class WeakTracker: the EventEmitter users hold. The native books (src/, through lib/binding.js)
// count; this class owns the behaviour: argument checks, origins, events, `refs`.

const { EventEmitter } = require('node:events')
const { threadId } = require('node:worker_threads')
const native = require('./binding.js')
const { outOfRange } = require('./errors.js')
const { validateObject, validateString, validateNumber, validateInteger } = require('./validate.js')
const { refsBuilder } = require('./refs.js')
const { addTracker } = require('./process.js')
const { takeOver, restore, firstFrames, originOf, captureOrigin, retainOrigin, releaseOrigin } = require('./origin.js')
const { collectGarbage } = require('./collect.js')
const why = require('./why.js')
// The live page (node:http, node:net, node:crypto and the page's own code), loaded when first
// served: most apps that track never serve it.
let page = null

// Where `track` captures its caller: one object reused for every call, which measured about
// 0.1 µs (3%) cheaper per track than capturing onto a fresh one (V8 redefines `stack` in place).
const callerHolder = {}

const expectCollectedAt = Symbol('weak-tracker.expectCollectedAt')

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

// A name for the process-wide view: the string itself, or its UTF-16 code units when it holds a
// lone surrogate (which the native side's UTF-8 could not carry).
const isWellFormed =
  typeof String.prototype.isWellFormed === 'function' ? (s) => s.isWellFormed() : (s) => !/\p{Cs}/u.test(s)

function nativeName(text) {
  if (isWellFormed(text)) return text
  const units = new Uint16Array(text.length)
  for (let i = 0; i < text.length; i++) units[i] = text.charCodeAt(i)
  return units
}

// `options.olderThan` of suspects() and retained(): a number of milliseconds >= 0.
function olderThanOption(options, fallback, caller) {
  validateObject(options, 'options', caller)
  const { olderThan = fallback } = options
  validateNumber(olderThan, 'options.olderThan', caller)
  if (!(olderThan >= 0)) throw outOfRange('options.olderThan', '>= 0', olderThan, caller)
  return olderThan
}

function firstValue(map) {
  if (map !== undefined) for (const value of map.values()) return value
  return undefined
}

function sampleOption(options, caller) {
  if (options === undefined) return 1
  validateObject(options, 'options', caller)
  const { sample = 1 } = options
  validateNumber(sample, 'options.sample', caller)
  if (!(sample > 0 && sample <= 1)) throw outOfRange('options.sample', '> 0 and <= 1', sample, caller)
  return sample
}

class WeakTracker extends EventEmitter {
  // The native books (an External), passed to the functions of `native`.
  #native
  // Per site id: its key and origin, and whether its objects were given to expectCollected().
  // JavaScript keeps the names: native code only counts.
  #keys = []
  #origins = []
  #expected = []
  // key -> origin -> site id: the cache that lets `track` cross into Rust with a number; one for
  // tracked objects, one for objects expected to be collected (their own sites, so that `track`
  // pays nothing for them and their ages count from the moment they were expected gone).
  #ids = new Map()
  #expectedIds = new Map()
  #flushing = false
  // The fraction of track() calls recorded.
  #sample

  constructor(options) {
    super()
    this.#sample = sampleOption(options, WeakTracker)
    this.#native = native.createTracker(this, WeakTracker.#onCollected, threadId, this.#sample)
    originsOfDroppedTrackers.register(this, this.#origins)
    addTracker(this, WeakTracker.#sweep)
  }

  // Brings a tracker's counts up to date (lib/process.js does so for every tracker of this thread
  // before it reads the process-wide view). Class-level, so the registry holds no closure over one.
  static #sweep(tracker) {
    native.sweep(tracker.#native)
  }

  // Called by the native canary's finalizer, after a garbage collection that may have freed
  // tracked objects. Module-level, so the native side holds no closure over a tracker.
  static #onCollected(tracker) {
    tracker.#flush()
  }

  track(key, obj) {
    validateString(key, 'key', this.track)
    validateObject(obj, 'obj', this.track, true)
    if (this.#sample !== 1 && Math.random() >= this.#sample) return
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
    native.track(this.#native, this.#siteId(key, origin, this.#ids, false), obj)
    this.emit('ref', key, origin)
  }

  // Counts `obj` like track() does, and remembers it as expected to be garbage from now on.
  expectCollected(key, obj) {
    validateString(key, 'key', this.expectCollected)
    validateObject(obj, 'obj', this.expectCollected, true)
    this[expectCollectedAt](key, captureOrigin(this.expectCollected), obj)
  }

  // expectCollected() with an origin given rather than captured: the zero-code watchers (lib/watch.js)
  // name an HTTP request by its route, which no stack line says. Not public: `origin` is trusted.
  [expectCollectedAt](key, origin, obj) {
    native.track(this.#native, this.#siteId(key, origin, this.#expectedIds, true), obj)
    this.emit('ref', key, origin)
  }

  // The objects given to expectCollected() at least `olderThan` ms ago that are still alive.
  retained(options = {}) {
    return this.#aged(olderThanOption(options, 5000, this.retained), true)
  }

  get refs() {
    native.sweep(this.#native)
    const counts = native.counts(this.#native)
    const built = refsBuilder()
    for (let id = 0; id < counts.length; id++) {
      if (counts[id] !== 0) built.add(this.#keys[id], this.#origins[id], counts[id])
    }
    return built.refs
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
    return this.#aged(olderThanOption(options, 10_000, this.suspects), false)
  }

  // Live objects older than `olderThan` ms per (key, origin), most first: of the expected sites
  // only, or of every site (tracked and expected together).
  #aged(olderThan, expectedOnly) {
    native.sweep(this.#native)
    const flat = native.suspects(this.#native, olderThan)
    const byName = new Map()
    const found = []
    for (let i = 0; i < flat.length; i += 3) {
      const id = flat[i]
      if (expectedOnly && !this.#expected[id]) continue
      const key = this.#keys[id]
      const origin = this.#origins[id]
      let byOrigin = byName.get(key)
      if (byOrigin === undefined) byName.set(key, (byOrigin = new Map()))
      let entry = byOrigin.get(origin)
      if (entry === undefined) {
        entry = { key, origin, count: 0, oldestMs: 0 }
        byOrigin.set(origin, entry)
        found.push(entry)
      }
      entry.count += flat[i + 1]
      entry.oldestMs = Math.max(entry.oldestMs, flat[i + 2])
    }
    return found.sort((a, b) => b.count - a.count || b.oldestMs - a.oldestMs)
  }

  // What keeps the live objects of `key` alive: per origin, the shortest retainer paths of up to
  // `limit` of them, from a heap snapshot of this thread.
  async why(key, options = {}) {
    validateString(key, 'key', this.why)
    validateObject(options, 'options', this.why)
    const { origin, limit = 20 } = options
    if (origin !== undefined) validateString(origin, 'options.origin', this.why)
    validateInteger(limit, 'options.limit', this.why, 1)
    native.sweep(this.#native)
    const counts = native.counts(this.#native)
    // origin -> its site ids with live objects (a tracked one and an expected one at most).
    const byOrigin = new Map()
    for (const ids of [this.#ids, this.#expectedIds]) {
      for (const [siteOrigin, id] of ids.get(key) ?? []) {
        if ((origin !== undefined && siteOrigin !== origin) || counts[id] === 0) continue
        if (!byOrigin.has(siteOrigin)) byOrigin.set(siteOrigin, [])
        byOrigin.get(siteOrigin).push(id)
      }
    }
    if (byOrigin.size === 0) return []
    const groups = [...byOrigin.values()]
    const found = [...byOrigin.keys()].map((siteOrigin) => ({ key, origin: siteOrigin, live: 0 }))
    // Candidates go in the probe; the snapshot picks the `limit` with the shortest paths.
    const explanations = await why.explainSetsInTurn(this.#weakSetsOf(groups, limit), limit)
    // V8 collects before it takes a snapshot: what was garbage is gone now, and not explained.
    native.sweep(this.#native)
    const after = native.counts(this.#native)
    groups.forEach((ids, i) => {
      for (const id of ids) {
        if (this.#keys[id] === key && this.#origins[id] === found[i].origin) found[i].live += after[id]
      }
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

  // Starts the live page for this tracker: resolves to { url, close() }.
  async serve(options = {}) {
    page ??= require('./page.js')
    return page.serve(this, options, this.serve)
  }

  // The live page as an (req, res[, next]) handler, for an existing server.
  pageHandler(options = {}) {
    page ??= require('./page.js')
    return page.pageHandler(this, options, this.pageHandler)
  }

  // Per group of sites, a WeakSet of the candidates among their live objects for the `limit` to
  // explain (why.candidates). Nothing else keeps them: this frame, which held them for a moment,
  // is gone before the snapshot is taken.
  #weakSetsOf(groups, limit) {
    const sets = []
    for (const ids of groups) {
      const set = new WeakSet()
      // The native sample() counts in 32 bits: 2^32 - 1 is "all" (no site holds 2^32).
      const live = ids.flatMap((id) => native.sample(this.#native, id, 2 ** 32 - 1))
      for (const obj of why.candidates(live, limit)) set.add(obj)
      sets.push(set)
    }
    return sets
  }

  #siteId(key, origin, ids, expected) {
    let byOrigin = ids.get(key)
    if (byOrigin === undefined) {
      byOrigin = new Map()
      ids.set(key, byOrigin)
    }
    let id = byOrigin.get(origin)
    if (id === undefined) {
      // The native side keeps a key once: name it by a site that has it already, if any.
      const sameKey = firstValue(byOrigin) ?? firstValue(this.#ids.get(key)) ?? firstValue(this.#expectedIds.get(key))
      id = native.openSite(this.#native, sameKey ?? nativeName(key), nativeName(origin))
      byOrigin.set(origin, id)
      this.#keys[id] = key
      this.#origins[id] = origin
      this.#expected[id] = expected
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
    const ids = this.#expected[id] ? this.#expectedIds : this.#ids
    const byOrigin = ids.get(key)
    byOrigin.delete(origin)
    if (byOrigin.size === 0) ids.delete(key)
    this.#keys[id] = undefined
    this.#origins[id] = undefined
    this.#expected[id] = undefined
    releaseOrigin(origin)
  }
}

// A snapshot as `snapshot()` makes it: an object with an object `refs`.
function checkSnapshot(name, value, caller) {
  validateObject(value, name, caller)
  validateObject(value.refs, `${name}.refs`, caller)
}

// `WeakTracker()` and `new WeakTracker()` both make an independent tracker, and `instanceof` works.
function createWeakTracker(options) {
  return new WeakTracker(options)
}
createWeakTracker.prototype = WeakTracker.prototype

module.exports = { WeakTracker, createWeakTracker, expectCollectedAt }
