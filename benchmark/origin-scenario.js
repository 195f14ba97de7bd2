'use strict'

// One measurement of the origin benchmark in a fresh process:
// `node --expose-gc origin-scenario.js <scenario>`. Prints one JSON object.

const vm = require('node:vm')
const { WeakTracker } = require('..')
const { trackVia } = require('bench-lib')

const [scenario] = process.argv.slice(2)
const now = () => process.hrtime.bigint()
const tick = () => new Promise(setImmediate)

async function settle() {
  for (let i = 0; i < 5; i++) {
    global.gc()
    await tick()
  }
}

// ns per track() of `n` kept objects, each made by `make(wt, kept)`, after a warm-up.
function perTrack(n, call) {
  const wt = WeakTracker()
  const kept = []
  for (let i = 0; i < 2000; i++) call(wt, kept)
  const start = now()
  for (let i = 0; i < n; i++) call(wt, kept)
  const ns = Number(now() - start) / n
  const origins = Object.keys(wt.refs.k).filter((o) => o !== '_total')
  return { ns, origins }
}

function direct(wt, kept) {
  const obj = {}
  kept.push(obj)
  wt.track('k', obj)
}

function viaLibrary(depth) {
  return function appLine(wt, kept) {
    const obj = {}
    kept.push(obj)
    trackVia(depth, wt, 'k', obj)
  }
}

const scenarios = {
  direct: () => perTrack(100_000, direct),
  library3: () => perTrack(100_000, viaLibrary(3)),
  library150: () => perTrack(10_000, viaLibrary(150)),
  library250: () => perTrack(5_000, viaLibrary(250)),

  // MiB of RSS that tracking 20 objects under one 10 MB key, from 20 lines, adds.
  async bigKey() {
    const key = 'k'.repeat(10 * 1024 * 1024)
    const lines = vm.runInThisContext(
      `[${Array(20).fill('(wt, obj, key) => wt.track(key, obj)').join(',\n')}]`,
      { filename: 'twenty-lines.js' },
    )
    const wt = WeakTracker()
    const kept = []
    await settle()
    const before = process.memoryUsage().rss
    for (const line of lines) {
      const obj = {}
      kept.push(obj)
      line(wt, obj, key)
    }
    await settle()
    const after = process.memoryUsage().rss
    return { addedMiB: (after - before) / 2 ** 20, origins: Object.keys(wt.refs[key]).length - 1 }
  },

  // Cached origins after 100k scripts, each tracking from its own line, have all been collected.
  async evalScripts() {
    const { cachedOrigins } = require('../lib/origin.js')
    const wt = WeakTracker()
    let held = []
    for (let i = 0; i < 100_000; i++) {
      vm.runInThisContext(`(wt, held) => { const o = {}; held.push(o); wt.track('k', o) } // ${i}`, { filename: `script-${i}.js` })(wt, held)
    }
    const whileLive = cachedOrigins()
    held = null
    await wt.collect()
    return { whileLive, afterCollected: cachedOrigins(), live: Object.keys(wt.refs).length }
  },
}

async function main() {
  const result = await scenarios[scenario]()
  process.stdout.write(JSON.stringify({ scenario, node: process.version, ...result }))
}

main()
