'use strict'

// Is `refs` exact right after gc()? weak-tracker against the plain-JS tracker (a WeakRef per
// object), with objects tracked in the same synchronous job as the gc() and a turn earlier. Each
// case in a fresh process. Prints a Markdown table.
//
//   node --expose-gc benchmark/exact.js

const path = require('node:path')
const { execFileSync } = require('node:child_process')

const N = 1000
const [impl, when] = process.argv.slice(2)

if (impl === undefined) {
  const run = (i, w) => Number(execFileSync(process.execPath, ['--expose-gc', __filename, i, w], { encoding: 'utf8' }))
  const cell = (live) => `${live.toLocaleString('en')} live${live === 0 ? ' (exact)' : ''}`
  console.log(`Node ${process.version}: ${N.toLocaleString('en')} objects tracked, dropped, then gc(); refs read at once\n`)
  console.log('| tracked | weak-tracker | plain `WeakRef` |')
  console.log('|---|---|---|')
  for (const [w, label] of [['sameJob', 'in the same synchronous job'], ['earlierTurn', 'a turn earlier']]) {
    console.log(`| ${label} | ${cell(run('weak-tracker', w))} | ${cell(run('plain-js', w))} |`)
  }
} else {
  const tracker = impl === 'plain-js' ? require('./plain-tracker.js')() : require(path.join(__dirname, '..')).WeakTracker()
  // In a helper, so that no register of the reading function keeps an object alive.
  const make = () => {
    for (let i = 0; i < N; i++) tracker.track('k', { i })
  }
  const read = () => process.stdout.write(String(tracker.refs.k?._total ?? 0))
  make()
  if (when === 'sameJob') {
    global.gc()
    read()
  } else {
    setImmediate(() => {
      global.gc()
      read()
    })
  }
}
