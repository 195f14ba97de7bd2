'use strict'

// assertNoGrowth(): a heap-growth gate for tests that needs no track(). The objects that `fn`
// creates and leaves alive are found in a heap snapshot of this thread, taken while V8 tracked
// allocations, so that each group of them comes with the function that allocated it.
//
// How: `fn` runs `warmup` times (lazy caches fill), a full collection follows, then V8 starts
// tracking heap objects with allocation traces. The inspector answers with the largest object id
// it has given (`HeapProfiler.lastSeenObjectId`, on its own 50 ms timer): every object alive at
// that moment has an id up to it, every later one a larger odd id. `fn` then runs `iterations`
// times, and stopping the tracking makes V8 take the snapshot (with `trace_tree`): it streams into
// the native decoder chunk by chunk, never held whole in the JavaScript heap nor written to disk.
// The new objects still alive are grouped by class and retainer-path shape (src/heap/growth.rs);
// a group fails the check when it holds at least one object per iteration (or `bytes` per
// iteration). Before failing, the check waits, collects and takes plain snapshots again for up to
// `settleMs`, so that what timers, sockets and promises hold for a moment is let go first: a group
// fails only if it is still that large in every snapshot.
//
// Node's own growth: a group whose allocation stack has no frame outside Node's own code
// (`node:` scripts, undici included) or whose path runs through one of Node's bounded buffers (the
// performance timeline's 250 resource timings) is not the code under test. It does not fail the
// check; when another group does, it is listed apart, as LeakCanary lists library leaks.

const inspector = require('node:inspector')
const path = require('node:path')
// Real timers, even under jest's or vitest's fake ones (they replace the globals only).
const { setTimeout: realTimeout, clearTimeout: realClearTimeout, setImmediate: realImmediate } = require('node:timers')
const { AssertionError } = require('node:assert')
const native = require('./binding.js')
const { checkHeadroom, pathText } = require('./why.js')
const { validateObject, validateFunction, validateInteger, integerOption } = require('./validate.js')
const { bytes } = require('./format.js')

const PAUSES = [0, 50, 200, 750]
const LIB = __dirname + path.sep

// Classes that Node keeps in bounded buffers of its own, whatever allocated them.
const NODE_BUFFERS = ['PerformanceResourceTiming', 'PerformanceMark', 'PerformanceMeasure', 'PerformanceEntry']

function sleep(ms) {
  return new Promise((resolve) => realTimeout(resolve, ms))
}

function post(session, method, params = {}) {
  let answer
  let failure
  session.post(method, params, (error, result) => {
    failure = error
    answer = result
  })
  if (failure) throw failure
  return answer
}


// The largest object id V8 has given, once it has given ids to everything alive: the inspector
// reports it on its own timer after tracking starts.
function lastSeenObjectId(session) {
  return new Promise((resolve, reject) => {
    const timer = realTimeout(() => {
      session.removeListener('HeapProfiler.lastSeenObjectId', seen)
      reject(new Error('weak-tracker: the inspector did not report its last object id within 5 s'))
    }, 5000)
    function seen(message) {
      realClearTimeout(timer)
      session.removeListener('HeapProfiler.lastSeenObjectId', seen)
      resolve(message.params.lastSeenObjectId)
    }
    session.on('HeapProfiler.lastSeenObjectId', seen)
  })
}

// Streams the snapshot that `method` makes V8 take into a decoder, and answers what
// `finish(decoder)` makes of it. The chunks come before the answer: during the call up to Node 20,
// on later turns from Node 22 for takeHeapSnapshot (stopTrackingHeapObjects still takes its
// snapshot inside the call, so no allocation happens between the iterations and it).
function decodeSnapshot(session, method, finish) {
  return new Promise((resolve, reject) => {
    const decoder = native.growthDecoder()
    let failure = null
    const feed = (message) => {
      if (failure !== null) return
      try {
        native.growthFeed(decoder, Buffer.from(message.params.chunk))
      } catch (error) {
        failure = error
      }
    }
    session.on('HeapProfiler.addHeapSnapshotChunk', feed)
    session.post(method, {}, (error) => {
      session.removeListener('HeapProfiler.addHeapSnapshotChunk', feed)
      if (error || failure !== null) {
        reject(error || failure)
        return
      }
      try {
        resolve(finish(decoder))
      } catch (finishError) {
        reject(finishError)
      }
    })
  })
}

// Whether `inner`'s path runs through an object of `outer`, reached the way `outer`'s are (the last
// two links of `outer`'s path, before `inner`'s own last link).
function heldBy(inner, outer) {
  const edge = (e) => (/^\[\d+\]$|^\d+$/.test(e) ? '[x]' : e)
  const same = (a, b) => a.node === b.node && edge(a.edge) === edge(b.edge)
  const tail = outer.path.slice(-2)
  if (tail.length === 0 || outer.path.length >= inner.path.length) return false
  for (let i = 0; i + tail.length < inner.path.length; i++) {
    if (tail.every((step, k) => same(step, inner.path[i + k]))) return true
  }
  return false
}

function nodeScript(script) {
  return script === '' || script.startsWith('node:')
}

// The frames worth showing: from the innermost frame outside Node's own code and this package,
// outwards, up to the frame that called fn's caller (this file) or six frames.
function appFrames(stack) {
  const start = stack.findIndex((f) => !nodeScript(f.script) && !f.script.startsWith(LIB))
  if (start < 0) return []
  const frames = []
  for (const frame of stack.slice(start)) {
    if (frame.script.startsWith(LIB) || frames.length === 6) break
    if (!nodeScript(frame.script)) frames.push(frame)
  }
  return frames
}

// Why a group is Node's own growth, or null when it is the code under test's.
function nodeOwn(group) {
  if (group.path.some((step) => NODE_BUFFERS.some((name) => step.node.startsWith(name)))) {
    return "in one of Node's bounded buffers"
  }
  if (group.stack.length > 0 && group.stack.every((f) => nodeScript(f.script) || f.script.startsWith(LIB))) {
    return "allocated by Node's own code"
  }
  return null
}

function frameText(frame) {
  const name = frame.function === '' ? '(anonymous)' : frame.function
  const at = frame.line > 0 ? `${frame.script}:${frame.line}:${frame.column}` : frame.script || '(native)'
  return `${name} (${at})`
}

function rate(n, iterations) {
  const r = n / iterations
  return Number.isInteger(r) ? String(r) : r.toFixed(1)
}

function groupText(group, iterations, number) {
  const lines = [
    `${number}. ${group.class}: +${group.count} objects in ${iterations} iterations (${rate(group.count, iterations)} per iteration), ` +
      `${bytes(group.retainedSize)} retained (${bytes(group.retainedSize / iterations)} per iteration)`,
  ]
  const frames = appFrames(group.stack)
  if (frames.length > 0) {
    lines.push(`   allocated at (${group.stackCount} of ${group.count}; V8 names the function, not the line in it):`)
    for (const frame of frames) lines.push(`     ${frameText(frame)}`)
  } else if (group.stack.length > 0) {
    lines.push(`   allocated in Node's own code, at ${frameText(group.stack[0])}`)
  } else {
    lines.push('   allocated at: (V8 kept no allocation trace for them)')
  }
  const header = `${group.count} ${group.class} objects`
  lines.push(...pathText({ steps: group.path }, header).split('\n').map((line) => `   ${line}`))
  return lines.join('\n')
}

// Full collections on this thread's session, each followed by a turn of the event loop (with the
// real setImmediate: jest's and vitest's fake timers replace only the global one).
// Full collections on the check's own session. collectGarbage answers on a later turn, once the
// collection has run, on every major: wait for that answer, then a turn for the finalizers.
async function collect(session, rounds) {
  for (let i = 0; i < rounds; i++) {
    await new Promise((resolve, reject) => {
      session.post('HeapProfiler.collectGarbage', (error) => (error ? reject(error) : resolve()))
    })
    await new Promise((resolve) => realImmediate(resolve))
  }
}

async function calls(fn, n) {
  for (let i = 0; i < n; i++) await fn()
}

// Runs `fn` `warmup` times, then `iterations` times while V8 tracks allocations, and fails when a
// group of objects created meanwhile and still alive grew by one object (or `bytes`) per iteration.
async function assertNoGrowth(fn, options = {}) {
  validateFunction(fn, 'fn', assertNoGrowth)
  validateObject(options, 'options', assertNoGrowth)
  const warmup = integerOption(options, 'warmup', 3, 0, assertNoGrowth)
  const iterations = integerOption(options, 'iterations', 10, 1, assertNoGrowth)
  const settleMs = integerOption(options, 'settleMs', 1000, 0, assertNoGrowth)
  const perIteration = options.bytes
  if (perIteration !== undefined) validateInteger(perIteration, 'options.bytes', assertNoGrowth, 1)
  const minCount = perIteration === undefined ? iterations : 0
  const minBytes = perIteration === undefined ? 0 : perIteration * iterations

  await calls(fn, warmup)
  checkHeadroom('assertNoGrowth()')
  const session = new inspector.Session()
  session.connect()
  let groups
  let tracking = false
  try {
    post(session, 'HeapProfiler.enable')
    await collect(session, 2)
    const seen = lastSeenObjectId(session)
    post(session, 'HeapProfiler.startTrackingHeapObjects', { trackAllocations: true })
    tracking = true
    let base
    try {
      base = await seen
    } catch (error) {
      tracking = false
      post(session, 'HeapProfiler.stopTrackingHeapObjects', { reportProgress: false })
      throw error
    }
    await calls(fn, iterations)
    // Not a stack root of the snapshot: paths should start where the app keeps things.
    fn = null
    // Stopping takes the snapshot with the allocation traces, without yielding in between.
    tracking = false
    groups = await decodeSnapshot(session, 'HeapProfiler.stopTrackingHeapObjects', (d) =>
      JSON.parse(native.growthNewSince(d, base, minCount, minBytes)),
    )
    // Settle: a group fails only if enough of its objects are still alive in every later snapshot
    // (V8 keeps their ids while this session lives).
    const failing = () => groups.filter((g) => nodeOwn(g) === null)
    let waited = 0
    for (const pause of PAUSES) {
      if (failing().length === 0) break
      const step = Math.min(pause, settleMs - waited)
      if (pause > 0 && step <= 0) break
      if (step > 0) await sleep(step)
      waited += step
      // On this session: a session that disconnects makes V8 forget every object id.
      await collect(session, 1)
      const ids = failing().flatMap((g) => g.ids)
      const alive = new Set(await decodeSnapshot(session, 'HeapProfiler.takeHeapSnapshot', (d) => native.growthAlive(d, ids)))
      groups = groups.filter((g) => {
        if (nodeOwn(g) !== null) return true
        const left = g.ids.filter((id) => alive.has(id)).length
        return left >= minCount && (minBytes === 0 || (g.retainedSize * left) / g.count >= minBytes)
      })
    }
  } finally {
    // An error from fn: the tracking stops, its snapshot discarded.
    if (tracking) {
      try {
        post(session, 'HeapProfiler.stopTrackingHeapObjects', { reportProgress: false })
      } catch {
        // The session is going away anyway.
      }
    }
    session.disconnect()
  }
  let app = groups.filter((g) => nodeOwn(g) === null)
  if (app.length === 0) return
  // A group held through the objects of another (a leaked session's own array) is part of it.
  const holder = (g) => app.find((h) => h !== g && heldBy(g, h))
  const parts_of = new Map()
  for (const g of app) {
    const h = holder(g)
    if (h !== undefined) parts_of.set(h, [...(parts_of.get(h) ?? []), g])
  }
  app = app.filter((g) => holder(g) === undefined)
  const own = groups.filter((g) => nodeOwn(g) !== null)
  const criterion = perIteration === undefined ? 'one object' : `${bytes(perIteration)}`
  const parts = [
    `Heap growth: ${app.length === 1 ? '1 group' : `${app.length} groups`} of objects created by fn grew by at least ${criterion} ` +
      `per iteration (${iterations} iterations after ${warmup} warm-up calls) and stayed alive:`,
    '',
  ]
  app.forEach((g, i) => {
    parts.push(groupText(g, iterations, i + 1))
    for (const part of parts_of.get(g) ?? []) {
      parts.push(`   with them: +${part.count} ${part.class} (${part.path.at(-1).edge}), ${bytes(part.retainedSize)} retained`)
    }
    parts.push('')
  })
  if (own.length > 0) {
    parts.push("Also grew, in Node's own code (not counted):")
    for (const g of own) parts.push(`   ${g.class}: +${g.count} objects, ${bytes(g.retainedSize)} retained (${nodeOwn(g)})`)
  }
  throw new AssertionError({ message: parts.join('\n').trimEnd(), stackStartFn: assertNoGrowth })
}

module.exports = { assertNoGrowth, nodeOwn, appFrames }
