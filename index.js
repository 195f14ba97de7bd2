'use strict'

// The public front of weak-tracker. The native part (src/, loaded through the generated
// binding.js) keeps the books: one weak reference per tracked object and a live count per call
// site. This file owns the behaviour: argument checks, origins, the EventEmitter, `refs`.

const { EventEmitter } = require('node:events')
const { inspect } = require('node:util')
const v8 = require('node:v8')
const vm = require('node:vm')
const native = loadBinding()

// The generated loader (binding.js) knows every napi-rs target; this package ships one of them.
// Say plainly which platform found no binary, rather than napi-rs's generic advice.
function loadBinding() {
  try {
    return require('./binding.js')
  } catch (cause) {
    const libc = process.platform === 'linux' ? (process.report?.getReport().header.glibcVersionRuntime ? '-gnu' : '-musl') : ''
    const target = `${process.platform}-${process.arch}${libc}`
    const runtime = `Node.js ${process.version}, Node-API ${process.versions.napi}`
    const message =
      target === 'linux-x64-gnu'
        ? `weak-tracker could not load its native binary for ${target} (${runtime}): reinstall the package, or rebuild it with \`npm run build\`.`
        : `weak-tracker has no native binary for ${target} (${runtime}). The package ships a prebuilt binary ` +
          'for linux-x64-gnu only; on other platforms build it from source with Rust: clone the repository, then `npm install`.'
    const error = new Error(message, { cause })
    error.code = 'ERR_WEAK_TRACKER_NO_BINARY'
    throw error
  }
}

// Frames captured when the caller itself is library code, to find the app beneath it. The first
// capture takes one frame only: each captured frame costs about as much as a small allocation-heavy
// function call, and the caller is app code almost always.
const DEEP_FRAMES = 200

function returnCallSites(_error, callSites) {
  return callSites
}

// Makes the next stack capture return at most `limit` CallSites, whatever the app has set
// `Error.stackTraceLimit` and `Error.prepareStackTrace` to. Returns what `restoreStackTraces`
// needs to leave both exactly as they were, own property or not.
function takeOverStackTraces(limit) {
  const saved = {
    hadLimit: Object.hasOwn(Error, 'stackTraceLimit'),
    limit: Error.stackTraceLimit,
    hadPrepare: Object.hasOwn(Error, 'prepareStackTrace'),
    prepare: Error.prepareStackTrace,
  }
  Error.stackTraceLimit = limit
  Error.prepareStackTrace = returnCallSites
  return saved
}

function restoreStackTraces(saved) {
  if (saved.hadLimit) Error.stackTraceLimit = saved.limit
  else delete Error.stackTraceLimit
  if (saved.hadPrepare) Error.prepareStackTrace = saved.prepare
  else delete Error.prepareStackTrace
}

// The call sites above `below`, at most `limit` of them. (`track` inlines this for its first,
// one-frame capture: V8 walks every frame above `below` one by one, at about 0.3 µs each.)
function callSites(limit, below) {
  const saved = takeOverStackTraces(limit)
  try {
    const holder = {}
    Error.captureStackTrace(holder, below)
    return asCallSites(holder.stack)
  } finally {
    restoreStackTraces(saved)
  }
}

// Where `track` captures its caller: one object reused for every call, which measured about
// 0.1 µs (3%) cheaper per track than capturing onto a fresh one (V8 redefines `stack` in place).
const callerHolder = {}

function asCallSites(stack) {
  return Array.isArray(stack) ? stack : []
}

// A frame that can name the line of code that made an object: it has a file, and the file is not
// one of Node's own (`node:internal/...`).
function isCodeFile(site, file) {
  return typeof file === 'string' && !file.startsWith('node:') && !site.isNative()
}

function isLibraryFile(file) {
  return file.includes('/node_modules/') || file.includes('\\node_modules\\')
}

// Formatted stack lines by file and by character position in it. Formatting a frame (which looks
// up the method name on the receiver) costs more than capturing it, and a program tracks from a
// handful of lines. The first text seen for a position is kept: a position whose function is
// called with receivers of different classes keeps the first class name.
const formatted = new Map()

function format(site, file) {
  const position = site.getPosition()
  let byPosition = formatted.get(file)
  if (byPosition === undefined) {
    byPosition = new Map()
    formatted.set(file, byPosition)
  }
  let line = byPosition.get(position)
  if (line === undefined) {
    line = `at ${site}`
    byPosition.set(position, line)
  }
  return line
}

// The trimmed stack line of the first caller frame outside node_modules, or of the outermost
// captured code frame when every one is inside node_modules. `caller` is the frame right above
// `below`, if any; the frames beneath it are captured only when it is not app code.
function originOf(caller, below) {
  if (caller !== undefined) {
    const file = caller.getFileName()
    if (isCodeFile(caller, file) && !isLibraryFile(file)) return format(caller, file)
  }
  const sites = callSites(DEEP_FRAMES, below)
  let outermost = null
  for (const site of sites) {
    const file = site.getFileName()
    if (!isCodeFile(site, file)) continue
    if (!isLibraryFile(file)) return format(site, file)
    outermost = site
  }
  if (outermost !== null) return format(outermost, outermost.getFileName())
  return sites.length > 0 ? `at ${sites[sites.length - 1]}` : 'at <anonymous>'
}

// Node's own wording for ERR_INVALID_ARG_TYPE (lib/internal/errors.js).
function describeReceived(value) {
  if (value == null) return String(value)
  if (typeof value === 'function' && value.name) return `function ${value.name}`
  if (typeof value === 'object') {
    if (value.constructor?.name) return `an instance of ${value.constructor.name}`
    return inspect(value, { depth: -1 })
  }
  let inspected
  if (typeof value === 'string') {
    inspected = inspect(value.length > 28 ? `${value.slice(0, 25)}...` : value, { colors: false })
  } else {
    inspected = inspect(value, { colors: false })
    if (inspected.length > 28) inspected = `${inspected.slice(0, 25)}...`
  }
  return `type ${typeof value} (${inspected})`
}

function invalidArgType(name, expected, value, caller) {
  const error = new TypeError(
    `The "${name}" argument must be of type ${expected}. Received ${describeReceived(value)}`,
  )
  error.code = 'ERR_INVALID_ARG_TYPE'
  Error.captureStackTrace(error, caller)
  return error
}

function outOfRange(name, range, value, caller) {
  const error = new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${inspect(value)}`)
  error.code = 'ERR_OUT_OF_RANGE'
  Error.captureStackTrace(error, caller)
  return error
}

function isObject(value) {
  return typeof value === 'object' && value !== null
}

// V8's own full garbage collection, reached even when Node was started without --expose-gc: the
// flag is turned on just long enough to create a context that has `gc`, then turned off again, so
// `global.gc` and every context or worker made later see the process as it was.
let fullGc = null
function fullGarbageCollection() {
  if (fullGc === null) {
    try {
      fullGc = vm.runInNewContext('gc')
    } catch {
      v8.setFlagsFromString('--expose-gc')
      try {
        fullGc = vm.runInNewContext('gc')
      } finally {
        v8.setFlagsFromString('--no-expose-gc')
      }
    }
  }
  fullGc()
}

// The counts of one key in a snapshot, or an empty object.
function countsOf(refs, key) {
  return Object.hasOwn(refs, key) ? refs[key] : {}
}

// Sets an own property even when the name is `__proto__`.
function define(target, name, value) {
  if (name === '__proto__') {
    Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true })
  } else {
    target[name] = value
  }
}

function rethrow(error) {
  throw error
}

class WeakTracker extends EventEmitter {
  // The native books (an External), passed to the functions of `native`.
  #native
  // Per site id: its key and origin. JavaScript keeps them so that `refs` and events need no
  // strings from native code.
  #keys = []
  #origins = []
  // key -> origin -> site id: the cache that lets `track` cross into Rust with a number.
  #ids = new Map()
  #flushing = false

  constructor() {
    super()
    this.#native = native.createTracker(this, WeakTracker.#onCollected)
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
    // The caller's frame, captured here rather than in a helper: see callSites().
    const saved = takeOverStackTraces(1)
    let caller
    try {
      Error.captureStackTrace(callerHolder, this.track)
      caller = asCallSites(callerHolder.stack)[0]
    } finally {
      // The CallSite holds the caller's receiver, which may be the tracked object itself.
      callerHolder.stack = undefined
      restoreStackTraces(saved)
    }
    const origin = originOf(caller, this.track)
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

  // Forces a full garbage collection, without --expose-gc, and resolves once every 'gc' event it
  // caused has been emitted: `refs` and the events then agree.
  async collect() {
    for (let i = 0; i < 2; i++) {
      fullGarbageCollection()
      await new Promise(setImmediate)
    }
    this.#flush()
  }

  snapshot() {
    const refs = this.refs
    for (const key of Object.keys(refs)) Object.freeze(refs[key])
    return Object.freeze({ time: Date.now(), refs: Object.freeze(refs) })
  }

  diff(before, after = this.snapshot()) {
    if (!isObject(before) || !isObject(before.refs)) throw invalidArgType('before', 'object', before, this.diff)
    if (!isObject(after) || !isObject(after.refs)) throw invalidArgType('after', 'object', after, this.diff)
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
    return changes.sort(
      (a, b) => b.delta - a.delta || (a.key < b.key ? -1 : a.key > b.key ? 1 : a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0),
    )
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

  #siteId(key, origin) {
    let byOrigin = this.#ids.get(key)
    if (byOrigin === undefined) {
      byOrigin = new Map()
      this.#ids.set(key, byOrigin)
    }
    let id = byOrigin.get(origin)
    if (id === undefined) {
      id = native.intern(this.#native, key, origin)
      byOrigin.set(origin, id)
      this.#keys[id] = key
      this.#origins[id] = origin
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
    const byOrigin = this.#ids.get(key)
    byOrigin.delete(this.#origins[id])
    if (byOrigin.size === 0) this.#ids.delete(key)
    this.#keys[id] = undefined
    this.#origins[id] = undefined
  }
}

// `WeakTracker()` and `new WeakTracker()` both make an independent tracker, and `instanceof` works.
function createWeakTracker() {
  return new WeakTracker()
}
createWeakTracker.prototype = WeakTracker.prototype

let shared = null

// The tracker shared by everything in this thread that requires weak-tracker.
function weakTracker() {
  shared ??= new WeakTracker()
  return shared
}

module.exports = weakTracker
module.exports.WeakTracker = createWeakTracker
