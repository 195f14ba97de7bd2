'use strict'

// why(): what keeps tracked objects alive. The objects are put in WeakSets held by a probe object
// of a class no other code has (memlab's trick: nothing about them changes, and the probe holds
// them only weakly), V8 takes a heap snapshot of this thread, and the snapshot streams into the
// native decoder chunk by chunk (src/heap/): the JSON text is never held in the JavaScript heap and
// never written to disk. The decoder keeps only the names a report may show, and the report
// carries class, variable and property names, never the contents of strings or numbers.

const os = require('node:os')
const v8 = require('node:v8')
const native = require('./binding.js')
const { bytes, count } = require('./format.js')

const PROBE_CLASS = 'WeakTrackerWhyProbe'

class WeakTrackerWhyProbe {
  constructor(sets) {
    this.sets = sets
  }
}

// Memory a snapshot needs beside the heap, as a multiple of the heap in use. V8 builds it in native
// memory, at about 1.4 KiB of peak RSS per heap object whatever the object's size (measured with
// v8.writeHeapSnapshot() alone: the decoder adds little), so the smallest objects cost the most.
// benchmark/why-memory.js measured the peak RSS that why() adds on Node 20: 55× the heap in use for
// 1M boxed numbers (the worst shape), 38× for a Map of short strings, 28× for small objects, 17× for
// closures, 10× for long strings, 8.5× for Maps. The guard takes the worst with a quarter more:
// nothing cheap tells the shapes apart, and running out of memory kills the process.
const SNAPSHOT_FACTOR = 70

function noMemory(need, available, what) {
  const mib = (n) => `${Math.round(n / 2 ** 20)} MiB`
  const error = new Error(
    `weak-tracker: a heap snapshot of this thread needs about ${mib(need)} of memory and only ${mib(available)} ` +
      `is available: ${what} was not run.`,
  )
  error.code = 'ERR_WEAK_TRACKER_NO_MEMORY'
  return error
}

// The memory a snapshot needs and the memory there is: `{ need, available }` in bytes.
function headroom({ heapUsed, free, constrained, rss }) {
  let available = free
  if (constrained > 0 && constrained < Number.MAX_SAFE_INTEGER) available = Math.min(available, constrained - rss)
  return { need: heapUsed * SNAPSHOT_FACTOR, available }
}

// Throws ERR_WEAK_TRACKER_NO_MEMORY, naming `what` (`why()`, `assertNoGrowth()`), when a snapshot of
// this thread would not fit in the memory there is.
function checkHeadroom(what) {
  const { need, available } = headroom({
    heapUsed: v8.getHeapStatistics().used_heap_size,
    free: os.freemem(),
    constrained: typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0,
    rss: process.memoryUsage.rss(),
  })
  if (need > available) throw noMemory(need, available, what)
}

// Takes a snapshot of this thread's heap and decodes it while V8 writes it out. (Events, not
// `for await`: on Node 18 the stream's async iterator never finishes after its 'end'.)
function snapshotHeap() {
  const decoder = native.heapDecoder()
  return new Promise((resolve, reject) => {
    let stream
    const fail = (error) => {
      stream?.destroy()
      try {
        native.heapFinish(decoder)
      } catch {
        // The decoder's own complaint is about the cut-off text; the cause is `error`.
      }
      reject(error)
    }
    try {
      stream = v8.getHeapSnapshot()
    } catch (error) {
      fail(error)
      return
    }
    stream.on('data', (chunk) => {
      try {
        native.heapFeed(decoder, chunk)
      } catch (error) {
        fail(error)
      }
    })
    stream.once('error', fail)
    stream.once('end', () => {
      try {
        resolve(native.heapFinish(decoder))
      } catch (error) {
        reject(error)
      }
    })
  })
}

// One explanation `{ explained, paths }` per WeakSet in `sets`, in order: of each set, the `limit`
// objects with the shortest paths (default: all).
async function explainSets(sets, limit = Number.MAX_SAFE_INTEGER) {
  checkHeadroom('why()')
  const probe = new WeakTrackerWhyProbe(sets)
  const heap = await snapshotHeap()
  // The probe stays reachable until the snapshot has been taken.
  probe.sets = null
  const json = native.heapExplainProbe(heap, PROBE_CLASS, limit)
  if (json === null) throw new Error('weak-tracker: the heap snapshot did not contain the probe')
  return JSON.parse(json)
}

// One snapshot at a time per thread: each pauses the thread and needs memory of its own.
let queue = Promise.resolve()

function explainSetsInTurn(sets, limit) {
  const run = queue.then(() => explainSets(sets, limit))
  queue = run.catch(() => {})
  return run
}

// How many of the live objects of one (key, origin) the probe holds at least, when there are more
// than `limit`: the snapshot explains the `limit` of them with the shortest paths. Each costs the
// snapshot a WeakSet entry, and they are not cheap (measured on Node 20: 300k entries added 1.2 GB
// of peak RSS and 4.6 s to a why() of a 300k-object heap), so beyond this many the candidates are
// the newest half (in a chain that grows at its head, a list or a promise's reactions, the newest
// are nearest the head), the oldest quarter, and a quarter spread evenly between.
const CANDIDATES = 1000

// The candidates among `live` (oldest first) for the `limit` objects to explain.
function candidates(live, limit) {
  const n = Math.max(Math.min(limit, 2 ** 32 - 1), CANDIDATES)
  if (live.length <= n) return live
  const newest = Math.ceil(n / 2)
  const oldest = Math.floor(n / 4)
  const spread = n - newest - oldest
  const end = live.length - newest
  const out = live.slice(0, oldest)
  for (let k = 0; k < spread; k++) out.push(live[oldest + Math.floor(((end - oldest) * k) / spread)])
  for (let i = end; i < live.length; i++) out.push(live[i])
  return out
}

const LABELS = { closure: ' (closure)', native: ' (native)', hidden: '', object: '', synthetic: '', array: '' }

function label(step) {
  if (step.node === '') return step.nodeType === 'closure' ? '(anonymous function)' : `(${step.nodeType})`
  return `${step.node}${LABELS[step.nodeType] ?? ` (${step.nodeType})`}`
}


// LeakCanary's "Retaining 2.6 MB in 10,000 objects", for a step that says what it retains.
function retaining(step) {
  if (typeof step.retainedSize !== 'number') return ''
  const objects = typeof step.retainedCount === 'number' ? ` in ${count(step.retainedCount)} ${step.retainedCount === 1 ? 'object' : 'objects'}` : ''
  return `   Retaining ${bytes(step.retainedSize)}${objects}`
}

// No text is longer than this: a path is cut in the middle, with a marker, to fit.
const MAX_LINES = 40

// A path for people, in the shape of LeakCanary's leak trace, with memlab's edge types. A chain
// (a step with `repeat`) is one line: `↓ next (property) → Node   × 9,998`; steps left out of a
// path too long to show are one line too.
function pathText(path, header, tracked) {
  const steps = path.steps
  let first = 0
  while (first + 1 < steps.length - 1 && steps[first + 1].nodeType === 'synthetic') first++
  const lines = [`┬─── ${header}`, `│ GC root: ${label(steps[first])}`]
  for (let i = first + 1; i < steps.length; i++) {
    const step = steps[i]
    if (step.omitted !== undefined) {
      lines.push(`│    … ${count(step.omitted)} more steps`)
      continue
    }
    if (step.repeat > 1 && i < steps.length - 1) {
      const unit = steps.slice(i, i + (step.repeatSteps ?? 1))
      lines.push(`│    ${unit.map((s) => `↓ ${s.edge} (${s.edgeType}) → ${label(s)}`).join(' ')}   × ${count(step.repeat)}`)
      i += unit.length - 1
      continue
    }
    lines.push(`│    ↓ ${step.edge} (${step.edgeType})`)
    // A WeakMap value: held by the map only while its key is alive too.
    if (step.key) lines.push(`│      (a WeakMap entry: held while its key, ${label(step.key)}, is alive)`)
    const last = tracked ? `╰→ ${label(step)}   (${tracked})` : `╰→ ${label(step)}`
    lines.push(i === steps.length - 1 ? `${last}${retaining(step)}` : `├─ ${label(step)}${retaining(step)}`)
  }
  if (lines.length > MAX_LINES) {
    const head = 2 + Math.floor((MAX_LINES - 3) / 2)
    const tail = MAX_LINES - head - 1
    const cut = lines.length - head - tail
    lines.splice(head, cut, `│    … ${count(cut)} more lines`)
  }
  return lines.join('\n')
}

function objects(n) {
  return n === 1 ? '1 object' : `${n} objects`
}

module.exports = { explainSetsInTurn, pathText, objects, headroom, checkHeadroom, candidates }
