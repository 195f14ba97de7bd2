'use strict'

// Soak: 10 million track-and-drop cycles through one tracker, yielding to the event loop between
// batches as a server does. One cycle in ten tracks under a key never seen before, so the tracker's
// own bookkeeping for dead keys and origins must be released for memory to stay flat. Prints RSS
// after gc() at 1M, 5M and 10M cycles and checks that every count ends at 0 with one 'gc' event
// per object. Then it churns 1M more cycles with no other tracked object alive, and 1M with a
// million tracked objects kept alive, and prints the cost per cycle of each: it must not grow with
// the number of live objects.
//
//   npm run soak            (node --expose-gc benchmark/soak.js [cycles])

const assert = require('node:assert/strict')
const { WeakTracker } = require('..')

const total = Number(process.argv[2] ?? 10_000_000)
const checkpoints = new Set([1_000_000, 5_000_000, 10_000_000, total].filter((n) => n <= total))
const batch = 10_000

const wt = WeakTracker()
let events = 0
wt.on('gc', () => events++)

// Eight call sites, as an app has: each is a line that makes and tracks an object.
const sites = [
  (key) => wt.track(key, { site: 0 }),
  (key) => wt.track(key, { site: 1 }),
  (key) => wt.track(key, { site: 2 }),
  (key) => wt.track(key, { site: 3 }),
  (key) => wt.track(key, { site: 4 }),
  (key) => wt.track(key, { site: 5 }),
  (key) => wt.track(key, { site: 6 }),
  (key) => wt.track(key, { site: 7 }),
]

function runBatch(start) {
  for (let i = start; i < start + batch; i++) {
    const key = i % 10 === 0 ? `request-${i}` : `key${i % 4}`
    sites[i % 8](key)
  }
}

async function settle(expected) {
  for (let i = 0; i < 50 && events < expected; i++) {
    global.gc()
    await new Promise(setImmediate)
  }
}

const mib = (bytes) => (bytes / 1048576).toFixed(1)

// ns per track-and-drop cycle over `cycles` cycles starting at index `from`, event loop turning.
async function timedChurn(from, cycles) {
  const start = process.hrtime.bigint()
  for (let done = 0; done < cycles; done += batch) {
    runBatch(from + done)
    await new Promise(setImmediate)
  }
  return Number(process.hrtime.bigint() - start) / cycles
}

const resident = []
function keepResident(n) {
  for (let i = 0; i < n; i++) {
    resident.push({ resident: i })
    wt.track('resident', resident[i])
  }
}

async function main() {
  assert.equal(typeof global.gc, 'function', 'run with node --expose-gc')
  const rows = []
  const started = process.hrtime.bigint()
  await settle(0)
  const baseline = process.memoryUsage().rss
  for (let done = 0; done < total; ) {
    runBatch(done)
    done += batch
    await new Promise(setImmediate)
    if (checkpoints.has(done)) {
      await settle(done)
      assert.deepEqual(wt.refs, {}, `every count is 0 after ${done} cycles`)
      assert.equal(events, done, "one 'gc' event per object")
      const { rss, heapUsed } = process.memoryUsage()
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      rows.push([done.toLocaleString('en'), mib(rss), mib(rss - baseline), mib(heapUsed), seconds.toFixed(1)])
    }
  }

  const phase = 1_000_000
  const alone = await timedChurn(total, phase)
  keepResident(1_000_000)
  await settle(total + phase)
  const withResident = await timedChurn(total + phase, phase)
  await settle(total + 2 * phase)
  assert.equal(events, total + 2 * phase, "one 'gc' event per churned object")
  assert.deepEqual(Object.keys(wt.refs), ['resident'])
  assert.equal(wt.refs.resident._total, resident.length)

  console.log(`Node ${process.version}, ${total.toLocaleString('en')} cycles, baseline RSS ${mib(baseline)} MiB\n`)
  console.log('| cycles | RSS MiB | RSS growth MiB | heap used MiB | elapsed s |')
  console.log('|---|---|---|---|---|')
  for (const row of rows) console.log(`| ${row.join(' | ')} |`)
  console.log('\n| 1M more cycles | ns per cycle |')
  console.log('|---|---|')
  console.log(`| no other tracked object alive | ${alone.toFixed(0)} |`)
  console.log(`| 1,000,000 tracked objects kept alive | ${withResident.toFixed(0)} |`)
}

main()
