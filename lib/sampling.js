'use strict'

// Growing lines without track(): V8's sampling heap profiler, read through an in-process
// `node:inspector` session. A sampled allocation stays in the profile while its object is alive,
// so the profile is the live bytes per allocating stack (each sample stands for about
// `samplingInterval` bytes). Each read attributes them to an origin by the rule `track()` uses:
// the innermost frame of the app's own code (outside node_modules and Node's internals); when the
// stack has none, the outermost library frame, the one the app's code (or Node) entered, marked as
// a library. V8 gives each frame's function and its position, not the line inside it, and an
// inlined helper may show as its caller.
//
// Reading the profile pauses the thread about as long as a full collection, so reads are spaced
// out (see MAX_SHARE) and every timer is unref()ed.

const path = require('node:path')
const inspector = require('node:inspector')
const { fileURLToPath } = require('node:url')
const { performance } = require('node:perf_hooks')

// weak-tracker's own files: their allocations are the tool's, and are not attributed to anyone.
const OWN = [__dirname + path.sep, path.join(__dirname, '..', 'register.js'), path.join(__dirname, '..', 'index.js')]

function isOwn(file) {
  return OWN.some((own) => file.startsWith(own))
}

// Bytes that only Node's own code or V8 allocated (no app or library frame on the stack).
const INTERNAL = '(Node.js internals)'

function isLibraryUrl(url) {
  return url.includes('/node_modules/') || url.includes('\\node_modules\\')
}

// A frame that names code someone wrote: not Node's own, not V8's `(program)` / `(garbage
// collector)` / builtins without a script.
function isCodeUrl(url) {
  return typeof url === 'string' && url !== '' && !url.startsWith('node:') && !url.startsWith('internal/')
}

function fileOfUrl(url) {
  if (url.startsWith('file://')) {
    try {
      return fileURLToPath(url)
    } catch {
      return url
    }
  }
  return url
}

// `at name (file:line:column)`, as a stack line, 1-based like Node's.
function frameText(frame) {
  const name = frame.functionName === '' ? '<anonymous>' : frame.functionName
  return `at ${name} (${fileOfUrl(frame.url)}:${frame.lineNumber + 1}:${frame.columnNumber + 1})`
}

// Live sampled bytes per origin in a sampling profile: Map origin -> { bytes, library }.
function attribute(profile) {
  const lines = new Map()
  const add = (origin, library, bytes) => {
    const line = lines.get(origin)
    if (line === undefined) lines.set(origin, { bytes, library })
    else line.bytes += bytes
  }
  // Depth-first without recursion: [node, innermost app frame above it, outermost library frame].
  const stack = [[profile.head, null, null]]
  while (stack.length > 0) {
    const [node, app, entry] = stack.pop()
    let here = app
    let library = entry
    const url = node.callFrame?.url
    if (isCodeUrl(url)) {
      if (isOwn(fileOfUrl(url))) {
        // The tool's own work: not counted at all, nor what it calls.
        continue
      }
      if (isLibraryUrl(url)) library ??= node.callFrame
      else here = node.callFrame
    }
    if (node.selfSize > 0) {
      if (here !== null) add(frameText(here), false, node.selfSize)
      else if (library !== null) add(frameText(library), true, node.selfSize)
      else add(INTERNAL, true, node.selfSize)
    }
    for (const child of node.children ?? []) stack.push([child, here, library])
  }
  return lines
}

// The suspect rule. Sampled objects stay in the profile while they live, so a line whose objects
// are kept never loses live bytes: a leak is a staircase, and the noise is the line's short-lived
// objects caught alive at a read. A line is growing when its live bytes rose at least twice in the
// window, fell in at most a third of its steps, and grew by two sampling intervals or more overall
// (one sample more or less is noise). A cache filled once rises once: not growing.
function growthOf(history, interval) {
  let rises = 0
  let falls = 0
  for (let i = 1; i < history.length; i++) {
    if (history[i] > history[i - 1]) rises++
    else if (history[i] < history[i - 1]) falls++
  }
  const steps = history.length - 1
  const growth = history[history.length - 1] - history[0]
  const growing = rises >= 2 && falls * 3 <= steps && growth >= 2 * interval
  return { growth, growing }
}

// How much of the thread's time the profile reads may take: a read costs about a full collection
// (measured: 25 ms at 13 MiB of heap, 145 ms at 123 MiB, whatever the interval), so the period
// stretches with the heap: at least `period`, and at least 200 times the last read's pause.
const MAX_SHARE = 1 / 200

// Live bytes per line over the last `window` reads of a profile, wherever the profile comes from
// (this thread's inspector, or another process's: `weak-tracker attach`).
class LineHistory {
  #interval
  #window
  #history = new Map()
  #reads = 0

  constructor({ interval, window }) {
    this.#interval = interval
    this.#window = window
  }

  get interval() {
    return this.#interval
  }

  get reads() {
    return this.#reads
  }

  add(profile) {
    const lines = attribute(profile)
    this.#reads++
    for (const [origin, line] of lines) {
      let entry = this.#history.get(origin)
      if (entry === undefined) {
        // A line first seen now had nothing live before.
        entry = { library: line.library, bytes: new Array(Math.min(this.#reads - 1, this.#window - 1)).fill(0) }
        this.#history.set(origin, entry)
      }
      entry.bytes.push(line.bytes)
    }
    for (const [origin, entry] of this.#history) {
      if (!lines.has(origin)) entry.bytes.push(0)
      if (entry.bytes.length > this.#window) entry.bytes.shift()
      // A line with nothing live in the whole window is forgotten: the table stays bounded.
      if (entry.bytes.every((b) => b === 0)) this.#history.delete(origin)
    }
  }

  // Lines, growing ones first, then by growth, then by live bytes.
  lines() {
    const out = []
    for (const [origin, { library, bytes }] of this.#history) {
      const { growth, growing } = growthOf(bytes, this.#interval)
      out.push({ origin, library, liveBytes: bytes[bytes.length - 1], growth, growing, history: [...bytes] })
    }
    out.sort(bySuspicion)
    return out
  }
}

function bySuspicion(a, b) {
  return b.growing - a.growing || b.growth - a.growth || b.liveBytes - a.liveBytes
}

// The least time between two reads: at least `periodMs`, and at least 1 / MAX_SHARE times the
// last read's pause.
function nextDelay(periodMs, lastPauseMs) {
  return Math.max(periodMs, lastPauseMs / MAX_SHARE)
}

// This thread's sampling profiler, through an in-process inspector session.
class AllocationSampler {
  #session = null
  #interval
  #history
  #lastPauseMs = 0

  constructor({ interval, window }) {
    this.#interval = interval
    this.#history = new LineHistory({ interval, window })
  }

  // An in-process session answers synchronously; that is what lets a report be read in 'exit'.
  #call(method, params) {
    let error = null
    let result
    let answered = false
    this.#session.post(method, params, (e, r) => {
      answered = true
      error = e
      result = r
    })
    if (!answered) throw new Error(`weak-tracker: the inspector did not answer ${method} synchronously`)
    if (error) throw error
    return result
  }

  start() {
    this.#session = new inspector.Session()
    this.#session.connect()
    try {
      this.#call('HeapProfiler.enable')
      this.#call('HeapProfiler.startSampling', { samplingInterval: this.#interval })
    } catch (error) {
      this.#session.disconnect()
      this.#session = null
      throw error
    }
  }

  get interval() {
    return this.#interval
  }

  get reads() {
    return this.#history.reads
  }

  nextDelay(periodMs) {
    return nextDelay(periodMs, this.#lastPauseMs)
  }

  // Reads the profile once and adds it to each line's history.
  read() {
    if (this.#session === null) return
    const started = performance.now()
    const { profile } = this.#call('HeapProfiler.getSamplingProfile')
    this.#lastPauseMs = performance.now() - started
    this.#history.add(profile)
  }

  lines() {
    return this.#history.lines()
  }

  stop() {
    const session = this.#session
    if (session === null) return
    this.#session = null
    try {
      session.post('HeapProfiler.stopSampling', () => {})
    } finally {
      session.disconnect()
    }
  }
}

// Where this thread's growing lines come from, when something samples (weak-tracker/register): the
// live page shows them. A function, so that the page reads them fresh; null when nothing samples.
let lineSource = null

function setLineSource(source) {
  lineSource = source
}

// The current growing lines, or null. Never throws: the page must not fail for them.
function currentLines() {
  try {
    return lineSource === null ? null : lineSource()
  } catch {
    return null
  }
}

module.exports = { setLineSource, currentLines, AllocationSampler, LineHistory, attribute, growthOf, nextDelay, bySuspicion, frameText, INTERNAL }
