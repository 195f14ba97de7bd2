'use strict'

// One measurement of the why() benchmark in a fresh process: `node why-scenario.js <scenario> ...`.
// Prints one JSON object.
//
//   write FILE     build the heap, v8.writeHeapSnapshot(FILE): ms
//   why            build the heap (tracked), then why(): ms and the peak RSS it added
//   inprocess-write  build the heap (tracked), v8.writeHeapSnapshot() into a private temp dir: ms
//   memlab DIR FILE  memlab's getFullHeapFromFile(FILE) and one Item's retainer path: ms

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const v8 = require('node:v8')

const [scenario, ...args] = process.argv.slice(2)
const now = () => process.hrtime.bigint()
const ms = (from) => Number(now() - from) / 1e6
const N = 300_000

class Item {
  constructor(id) {
    this.id = id
    this.name = `item-${id}`
    this.tags = [id & 7]
  }
}

// 300k small class instances, each in an array and in a Map keyed by its name: the heap the
// anchors were measured on (1.27M nodes, 3.3M edges, a 95 MB snapshot).
const items = []
const byName = new Map()
function build(wt) {
  for (let i = 0; i < N; i++) {
    const item = new Item(i)
    items.push(item)
    byName.set(item.name, item)
    if (wt) wt.track('item', item)
  }
}

// Peak RSS since the last reset, in bytes (Linux).
function peakRss() {
  const line = fs.readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+) kB$/m)
  return Number(line[1]) * 1024
}

function resetPeak() {
  fs.writeFileSync('/proc/self/clear_refs', '5')
}

async function main() {
  let result
  if (scenario === 'write') {
    build()
    const start = now()
    v8.writeHeapSnapshot(args[0])
    result = { ms: ms(start), bytes: fs.statSync(args[0]).size }
  } else if (scenario === 'inprocess-write') {
    const wt = require('..').WeakTracker()
    build(wt)
    await wt.collect()
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-bench-'))
    try {
      const before = process.memoryUsage.rss()
      resetPeak()
      const start = now()
      v8.writeHeapSnapshot(path.join(dir, 'heap.heapsnapshot'))
      result = { ms: ms(start), addedPeakBytes: peakRss() - before }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  } else if (scenario === 'why') {
    const wt = require('..').WeakTracker()
    build(wt)
    await wt.collect()
    const before = process.memoryUsage.rss()
    resetPeak()
    const start = now()
    const out = await wt.why('item')
    result = {
      ms: ms(start),
      addedPeakBytes: peakRss() - before,
      live: out.reduce((a, s) => a + s.live, 0),
      explained: out.reduce((a, s) => a + s.explained, 0),
      shapes: out[0].paths.length,
    }
  } else if (scenario === 'memlab') {
    const [dir, file] = args
    const { getFullHeapFromFile } = require(path.join(dir, 'node_modules/@memlab/heap-analysis'))
    const start = now()
    const heap = await getFullHeapFromFile(file)
    const item = heap.getAnyObjectWithClassName('Item')
    let hops = 0
    for (let node = item; node && hops < 100; node = node.pathEdge?.fromNode) hops++
    result = { ms: ms(start), found: item !== null, hops }
  }
  result.maxRssBytes = process.resourceUsage().maxRSS * 1024
  process.stdout.write(JSON.stringify({ scenario, node: process.version, ...result }))
}

main()
