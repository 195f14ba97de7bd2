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

function noMemory(need, available) {
  const mib = (n) => `${Math.round(n / 2 ** 20)} MiB`
  const error = new Error(
    `weak-tracker: a heap snapshot of this thread needs about ${mib(need)} of memory and only ${mib(available)} ` +
      'is available: why() was not run.',
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

function checkHeadroom() {
  const { need, available } = headroom({
    heapUsed: v8.getHeapStatistics().used_heap_size,
    free: os.freemem(),
    constrained: typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0,
    rss: process.memoryUsage.rss(),
  })
  if (need > available) throw noMemory(need, available)
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

// One explanation `{ explained, paths }` per WeakSet in `sets`, in order.
async function explainSets(sets) {
  checkHeadroom()
  const probe = new WeakTrackerWhyProbe(sets)
  const heap = await snapshotHeap()
  // The probe stays reachable until the snapshot has been taken.
  probe.sets = null
  const json = native.heapExplainProbe(heap, PROBE_CLASS)
  if (json === null) throw new Error('weak-tracker: the heap snapshot did not contain the probe')
  return JSON.parse(json)
}

// One snapshot at a time per thread: each pauses the thread and needs memory of its own.
let queue = Promise.resolve()

function explainSetsInTurn(sets) {
  const run = queue.then(() => explainSets(sets))
  queue = run.catch(() => {})
  return run
}

const LABELS = { closure: ' (closure)', native: ' (native)', hidden: '', object: '', synthetic: '', array: '' }

function label(step) {
  if (step.node === '') return step.nodeType === 'closure' ? '(anonymous function)' : `(${step.nodeType})`
  return `${step.node}${LABELS[step.nodeType] ?? ` (${step.nodeType})`}`
}

// A path for people, in the shape of LeakCanary's leak trace, with memlab's edge types.
function pathText(path, header, tracked) {
  const steps = path.steps
  let first = 0
  while (first + 1 < steps.length - 1 && steps[first + 1].nodeType === 'synthetic') first++
  const lines = [`┬─── ${header}`, `│ GC root: ${label(steps[first])}`]
  for (let i = first + 1; i < steps.length; i++) {
    const step = steps[i]
    lines.push(`│    ↓ ${step.edge} (${step.edgeType})`)
    // A WeakMap value: held by the map only while its key is alive too.
    if (step.key) lines.push(`│      (a WeakMap entry: held while its key, ${label(step.key)}, is alive)`)
    const last = tracked ? `╰→ ${label(step)}   (${tracked})` : `╰→ ${label(step)}`
    lines.push(i === steps.length - 1 ? last : `├─ ${label(step)}`)
  }
  return lines.join('\n')
}

function objects(n) {
  return n === 1 ? '1 object' : `${n} objects`
}

module.exports = { explainSetsInTurn, pathText, objects, headroom }
