'use strict'

// The memory why() adds, as a multiple of the heap in use: the figure behind SNAPSHOT_FACTOR in
// lib/why.js. One fresh process per heap shape and size: it builds the heap, tracks a few objects,
// resets its peak RSS (Linux: `5` into /proc/self/clear_refs), runs why(), and reads the new peak
// (VmHWM). Prints a Markdown table, worst factor first.
//
//   node benchmark/why-memory.js [runs]   (default 3 runs per shape and size)

const fs = require('node:fs')
const os = require('node:os')
const v8 = require('node:v8')
const { execFileSync } = require('node:child_process')

// Each shape builds `n` things on a global, where why() finds them alive.
const SHAPES = {
  'small objects': (n) => Array.from({ length: n }, (_, i) => ({ id: i, name: 'x', next: null })),
  'class instances': (n) => {
    class Session {
      constructor(i) {
        this.id = i
        this.user = null
        this.open = true
      }
    }
    return Array.from({ length: n }, (_, i) => new Session(i))
  },
  // A null among them keeps the array's elements tagged: each number is a HeapNumber of its own.
  'boxed numbers': (n) => Array.from({ length: n }, (_, i) => (i === 0 ? null : i + 0.5)),
  'arrays of numbers': (n) => Array.from({ length: n / 10 }, (_, i) => Array.from({ length: 10 }, (_, j) => i * j)),
  strings: (n) => Array.from({ length: n }, (_, i) => `session-${i}-${'y'.repeat(i % 16)}`),
  'short strings (a Map of them)': (n) => new Map(Array.from({ length: n / 2 }, (_, i) => [`k${i}`, `v${i}`])),
  Maps: (n) => Array.from({ length: n / 4 }, (_, i) => new Map([[i, { i }]])),
  closures: (n) =>
    Array.from({ length: n }, (_, i) => {
      const captured = { i }
      return () => captured
    }),
}

function peakKiB() {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))
  return Number(m[1])
}

async function child(shape, n) {
  const wt = require('..')()
  globalThis.held = SHAPES[shape](n)
  const tracked = []
  for (let i = 0; i < 10; i++) {
    tracked.push({ i })
    wt.track('k', tracked[i])
  }
  globalThis.tracked = tracked
  // The guard itself is what is being measured: let why() run whatever it would say.
  os.freemem = () => 2 ** 50
  global.gc()
  global.gc()
  const heapUsed = v8.getHeapStatistics().used_heap_size
  const rssBefore = process.memoryUsage.rss()
  fs.writeFileSync('/proc/self/clear_refs', '5')
  const started = process.hrtime.bigint()
  const [site] = await wt.why('k')
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  const added = peakKiB() * 1024 - rssBefore
  process.stdout.write(JSON.stringify({ heapUsed, added, factor: added / heapUsed, ms, explained: site.explained }))
}

function main() {
  const runs = Number(process.argv[2] ?? 3)
  const sizes = [100_000, 400_000, 1_000_000]
  const rows = []
  for (const shape of Object.keys(SHAPES)) {
    for (const n of sizes) {
      const results = []
      for (let r = 0; r < runs; r++) {
        process.stderr.write(`${shape} ${n} ${r + 1}/${runs}\r`)
        const out = execFileSync(process.execPath, ['--expose-gc', __filename, 'child', shape, String(n)], { encoding: 'utf8' })
        results.push(JSON.parse(out))
      }
      const factors = results.map((x) => x.factor).sort((a, b) => a - b)
      rows.push({
        shape,
        n,
        heapMiB: results[0].heapUsed / 2 ** 20,
        addedMiB: Math.max(...results.map((x) => x.added)) / 2 ** 20,
        min: factors[0],
        max: factors.at(-1),
        ms: Math.max(...results.map((x) => x.ms)),
        explained: results.every((x) => x.explained === 10),
      })
    }
  }
  rows.sort((a, b) => b.max - a.max)
  const lines = [
    `Node ${process.version}, ${os.cpus().length} cores, ${runs} runs each`,
    '',
    '| heap shape | things | heap in use MiB | peak RSS added MiB (max) | factor min–max | why() ms (max) |',
    '|---|---|---|---|---|---|',
  ]
  for (const r of rows) {
    lines.push(`| ${r.shape} | ${r.n} | ${r.heapMiB.toFixed(1)} | ${r.addedMiB.toFixed(0)} | ${r.min.toFixed(1)}–${r.max.toFixed(1)} | ${r.ms.toFixed(0)} |${r.explained ? '' : ' (not all explained)'}`)
  }
  process.stdout.write(`${lines.join('\n')}\n`)
}

if (process.argv[2] === 'child') child(process.argv[3], Number(process.argv[4]))
else main()

