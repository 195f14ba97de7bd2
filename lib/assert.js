'use strict'

// weak-tracker/assert: leak checks for tests, in node:assert's manner. Each failure is an
// AssertionError whose message names the key, the line that made the objects and the retainer
// path that keeps them, so that it stands on its own in a CI log. Works in node:test, jest (each
// file in its own vm context) and vitest (worker threads), without --expose-gc.
//
// A check must not fail on code that does not leak: objects that a function leaves reachable for a
// moment (a socket closing, a timer about to fire, a promise settling) are waited out. Counts are
// read after a full collection; when they show a leak, the check waits and collects again, with
// growing pauses, for up to `settleMs`, and fails only if the leak is still there.

const { AssertionError } = require('node:assert')
const { sharedTracker } = require('./shared.js')
const { invalidArgType } = require('./errors.js')
const { isObject, validateObject, validateFunction, integerOption } = require('./validate.js')
const { objects } = require('./why.js')
const { assertNoGrowth } = require('./no-growth.js')

const PAUSES = [0, 10, 25, 50, 100, 200, 400, 800]

function trackerOption(options, caller) {
  const tracker = options.tracker ?? sharedTracker()
  if (!isObject(tracker) || typeof tracker.why !== 'function' || typeof tracker.collect !== 'function') {
    throw invalidArgType('options.tracker', 'WeakTracker', tracker, caller)
  }
  return tracker
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// Collects until `problems()` finds nothing, pausing longer each time, for at most `settleMs`.
// Returns what it found last.
async function settle(tracker, settleMs, problems) {
  let waited = 0
  let found = []
  for (const pause of PAUSES) {
    if (pause > 0) {
      const step = Math.min(pause, settleMs - waited)
      if (step <= 0) break
      await sleep(step)
      waited += step
    }
    await tracker.collect()
    found = problems()
    if (found.length === 0) break
  }
  return found
}

// The retainer path of the first explained object of (key, origin), indented, or why there is none.
async function retainerText(tracker, key, origin) {
  try {
    const [site] = await tracker.why(key, { origin, limit: 5 })
    // No site: the collection V8 runs before a snapshot freed them all after all.
    if (site === undefined) return '    (no retainer path: they were collected while the heap snapshot was taken)'
    const path = site.paths[0]
    // Alive, yet no path that why() follows reaches them: say so, without claiming that nothing
    // holds them (something does, or V8 would have collected them for the snapshot).
    if (path === undefined) return `    (no retainer path: ${objects(site.live)} alive, held in a way the heap snapshot does not show as a path)`
    return path.text
      .split('\n')
      .map((line) => `    ${line}`)
      .join('\n')
  } catch (error) {
    return `    (no retainer path: ${error.message})`
  }
}

async function fail(tracker, headline, lines, caller) {
  const parts = [headline]
  for (const { text, key, origin } of lines) {
    parts.push(`  ${text}`, await retainerText(tracker, key, origin))
  }
  const error = new AssertionError({ message: parts.join('\n'), stackStartFn: caller })
  throw error
}

// Calls `fn` `warmup` times, takes a snapshot of the counts after a full collection, calls it
// `iterations` more times, and fails when any key and origin has more live objects than before by
// more than `tolerance`.
async function assertNoLeaks(fn, options = {}) {
  validateFunction(fn, 'fn', assertNoLeaks)
  validateObject(options, 'options', assertNoLeaks)
  const warmup = integerOption(options, 'warmup', 5, 0, assertNoLeaks)
  const iterations = integerOption(options, 'iterations', 20, 1, assertNoLeaks)
  const tolerance = integerOption(options, 'tolerance', 0, 0, assertNoLeaks)
  const settleMs = integerOption(options, 'settleMs', 1000, 0, assertNoLeaks)
  const tracker = trackerOption(options, assertNoLeaks)

  let tracked = 0
  const counted = () => tracked++
  tracker.on('ref', counted)
  let before
  try {
    for (let i = 0; i < warmup; i++) await fn()
    await settle(tracker, settleMs, () => [])
    before = tracker.snapshot()
    for (let i = 0; i < iterations; i++) await fn()
  } finally {
    tracker.off('ref', counted)
  }
  if (tracked === 0) {
    const error = new AssertionError({
      message:
        `assertNoLeaks() has nothing to check: fn tracked no object in ${warmup + iterations} calls. ` +
        'Call track() on the objects fn creates, or use assertNoGrowth(), which checks the heap itself and needs no track().',
      stackStartFn: assertNoLeaks,
    })
    throw error
  }
  const growing = await settle(tracker, settleMs, () => tracker.diff(before).filter((c) => c.delta > tolerance))
  if (growing.length === 0) return
  await fail(
    tracker,
    `Leak: live tracked objects grew over ${iterations} calls (tolerance ${tolerance}):`,
    growing.map((c) => ({ ...c, text: `+${c.delta} ${c.key} ${c.origin} (${c.before} -> ${c.after})` })),
    assertNoLeaks,
  )
}

// Fails when any object given to expectCollected() is still alive after a full collection.
async function assertCollected(options = {}) {
  validateObject(options, 'options', assertCollected)
  const settleMs = integerOption(options, 'settleMs', 1000, 0, assertCollected)
  const tracker = trackerOption(options, assertCollected)
  const retained = await settle(tracker, settleMs, () => tracker.retained({ olderThan: 0 }))
  if (retained.length === 0) return
  await fail(
    tracker,
    'Leak: objects expected to be collected are still alive:',
    retained.map((r) => ({ ...r, text: `${r.count} ${r.key} ${r.origin}` })),
    assertCollected,
  )
}

module.exports = { assertNoLeaks, assertCollected, assertNoGrowth }
