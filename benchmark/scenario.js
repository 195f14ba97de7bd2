'use strict'

// One measurement in a fresh process: `node --expose-gc scenario.js <impl> <scenario>`. Prints one
// JSON object. Run by benchmark/index.js, which takes medians over several processes.

const { app, keeping } = require('./workload.js')

const [impl, scenario] = process.argv.slice(2)
const N = 200_000

const implementations = {
  'weak-tracker': () => require('..').WeakTracker(),
  'plain-js': () => require('./plain-tracker.js')(),
  // The bare cost of capturing a stack at the same depth, with the default stackTraceLimit.
  'new Error()': () => ({ track: () => new Error(), on() {}, refs: {} }),
  // Nothing at all: the objects' own memory, for the RSS baseline.
  none: () => ({ track() {}, on() {}, refs: {} }),
}

const tick = () => new Promise(setImmediate)
const now = () => process.hrtime.bigint()
const ms = (from, to = now()) => Number(to - from) / 1e6

async function settle() {
  for (let i = 0; i < 5; i++) {
    global.gc()
    await tick()
  }
}

// Waits until `done()` holds, turning the event loop and collecting again every 50 turns.
async function until(done, limitMs = 30_000) {
  const start = now()
  for (let turns = 0; !done(); turns++) {
    if (ms(start) > limitMs) throw new Error(`gave up after ${limitMs} ms`)
    if (turns % 50 === 49) global.gc()
    await tick()
  }
}

// Allocates `bytes` of short-lived arrays (about 1 KiB each), turning the event loop every 8 MiB,
// as a busy server does: the young generation is collected many times meanwhile.
async function allocate(bytes) {
  let sink = null
  const arrays = Math.round(bytes / 1040)
  for (let i = 0; i < arrays; i++) {
    sink = new Array(128)
    sink[i & 127] = i
    if ((i & 8191) === 8191) await tick()
  }
  return sink.length
}

function totalOf(refs) {
  let total = 0
  for (const key in refs) total += refs[key]._total
  return total
}

const scenarios = {
  // ns per track() with N objects kept alive.
  async track(t) {
    const kept = []
    app(keeping(t, kept), 0, 20_000) // warm-up
    await settle()
    const start = now()
    app(keeping(t, kept), 20_000, N)
    return { nsPerTrack: (ms(start) * 1e6) / N, kept: kept.length }
  },

  // ns per object to track it, drop it, and have it collected and reported.
  async churn(t) {
    let events = 0
    t.on('gc', () => events++)
    const start = now()
    for (let done = 0; done < N; done += 10_000) {
      app(t, done, 10_000)
      await tick()
    }
    await until(() => events === N)
    return { nsPerObject: (ms(start) * 1e6) / N }
  },

  // Bytes of RSS per live tracked object after gc(); subtract the `none` implementation's figure.
  async rss(t) {
    await settle()
    const before = process.memoryUsage().rss
    const kept = []
    app(keeping(t, kept), 0, N)
    await settle()
    const after = process.memoryUsage().rss
    return { bytesPerObject: (after - before) / N, kept: kept.length }
  },

  // ns per refs read when nothing was collected since the last read, at 10k and 1M live objects.
  async refsRead(t) {
    const result = {}
    const kept = []
    for (const live of [10_000, 1_000_000]) {
      app(keeping(t, kept), kept.length, live - kept.length)
      await settle()
      let total = totalOf(t.refs)
      let reads = 0
      const start = now()
      while (reads < 3 || ms(start) < 200) {
        total = totalOf(t.refs)
        reads++
      }
      result[`nsPerRead${live}`] = (ms(start) * 1e6) / reads
      result[`exact${live}`] = total === live
    }
    return result
  },

  // ms for the app to allocate 1 GiB of short-lived arrays while `live` tracked objects stay alive.
  async background100k(t) {
    return background(t, 100_000)
  },
  async background1M(t) {
    return background(t, 1_000_000)
  },

  // ns per `JSON.stringify(refs)` when the app has allocated (and so run young collections)
  // between reads, at 10k and 1M live objects.
  async refsWhileAllocating(t) {
    const result = {}
    const kept = []
    for (const live of [10_000, 1_000_000]) {
      app(keeping(t, kept), kept.length, live - kept.length)
      await settle()
      let readNs = 0
      let length = 0
      for (let i = 0; i < 50; i++) {
        await allocate(16 * 2 ** 20)
        const start = now()
        length += JSON.stringify(t.refs).length
        readNs += Number(now() - start)
      }
      result[`nsPerRead${live}`] = readNs / 50
      result[`read${live}`] = length > 0
    }
    return result
  },

  // ms for the first refs read right after gc() freed N objects, and whether it was exact.
  async refsAfterGc(t) {
    const kept = []
    app(keeping(t, kept), 0, 1000)
    // Held through a few collections, so that the one gc() below is what frees them all.
    let held = []
    app(keeping(t, held), 1000, N)
    await settle()
    held = null
    global.gc()
    const start = now()
    const total = totalOf(t.refs)
    return { firstReadMs: ms(start), exact: total === kept.length, counted: total }
  },

  // ms from gc() freeing N objects to the last of their 'gc' events.
  async gcEvents(t) {
    let events = 0
    t.on('gc', () => events++)
    let held = []
    app(keeping(t, held), 0, N)
    await settle()
    held = null
    const start = now()
    global.gc()
    await until(() => events === N)
    return { allEventsMs: ms(start) }
  },
}

async function background(t, live) {
  const kept = []
  app(keeping(t, kept), 0, live)
  await settle()
  // Steady state: a tracker's first few young collections are swept in full (see README).
  await allocate(64 * 2 ** 20)
  const start = now()
  await allocate(2 ** 30)
  return { appMs: ms(start), kept: kept.length }
}

async function main() {
  const t = implementations[impl]()
  const result = await scenarios[scenario](t)
  process.stdout.write(JSON.stringify({ impl, scenario, node: process.version, ...result }))
}

main()
