'use strict'

// The cost of one assertNoGrowth() check on a test heap of about HEAP_MB (default 20) MB, against
// the snapshots V8 itself needs for it: one taken by stopping allocation tracking (streamed to a
// no-op listener) and, on a passing check, none more. Usage: node benchmark/no-growth.js [MB] [runs]

const inspector = require('node:inspector')
const v8 = require('node:v8')
const { assertNoGrowth } = require('../lib/assert.js')

const mb = Number(process.argv[2] ?? 20)
const runs = Number(process.argv[3] ?? 5)

// A test heap: small objects in a Map and an array, like an app's state.
const state = new Map()
const list = []
while (v8.getHeapStatistics().used_heap_size < mb * 2 ** 20) {
  for (let i = 0; i < 10_000; i++) {
    const o = { id: list.length, name: `item${list.length}`, tags: [1, 2, 3] }
    list.push(o)
    state.set(o.id, o)
  }
}

function v8Only() {
  const session = new inspector.Session()
  session.connect()
  const post = (m, p = {}) => session.post(m, p, () => {})
  post('HeapProfiler.enable')
  session.on('HeapProfiler.addHeapSnapshotChunk', () => {})
  post('HeapProfiler.startTrackingHeapObjects', { trackAllocations: true })
  const t = process.hrtime.bigint()
  post('HeapProfiler.stopTrackingHeapObjects', {})
  const ms = Number(process.hrtime.bigint() - t) / 1e6
  session.disconnect()
  return ms
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function main() {
  const heap = v8.getHeapStatistics().used_heap_size / 2 ** 20
  const snapshot = []
  const check = []
  for (let i = 0; i < runs; i++) {
    snapshot.push(v8Only())
    const t = process.hrtime.bigint()
    await assertNoGrowth(() => ({ a: [1, 2, 3] }))
    check.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  console.table([
    {
      'heap MB': heap.toFixed(1),
      'V8 snapshot ms (median)': median(snapshot).toFixed(0),
      'assertNoGrowth ms (median)': median(check).toFixed(0),
      ratio: (median(check) / median(snapshot)).toFixed(2),
      runs,
    },
  ])
  console.log(`${list.length} objects kept; Node ${process.version}, ${require('node:os').cpus().length} cores`)
}
main()
