'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { Worker } = require('node:worker_threads')
const { WeakTracker } = require('..')
const { trackGarbage, collectUntil } = require('./helpers.js')

const exitScript = path.join(__dirname, 'fixtures/exit-live.js')
const workerScript = path.join(__dirname, 'fixtures/worker.js')

function runExit(count, how) {
  return spawnSync(process.execPath, [exitScript, String(count), how], { encoding: 'utf8' })
}

test('a process with a million live tracked objects exits cleanly', () => {
  const run = runExit(1_000_000, 'natural')
  assert.equal(run.stderr, '')
  assert.equal(run.stdout, '1000000\n')
  assert.equal(run.status, 0)
  assert.equal(run.signal, null)
})

test('process.exit() with a million live tracked objects exits cleanly', () => {
  const run = runExit(1_000_000, 'exit')
  assert.equal(run.stderr, '')
  assert.equal(run.stdout, '1000000\n')
  assert.equal(run.status, 0)
})

test('an uncaught exception with live tracked objects exits 1 and reports the error only', () => {
  const run = runExit(100_000, 'throw')
  assert.equal(run.status, 1)
  assert.equal(run.signal, null)
  assert.match(run.stderr, /dying with live objects/)
})

// Runs a worker and resolves with its first message and its exit code.
function runWorker(workerData, { terminateAfterMessage = false } = {}) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerScript, { workerData })
    let message
    worker.once('message', (m) => {
      message = m
      if (terminateAfterMessage) setTimeout(() => worker.terminate(), 20)
    })
    worker.once('error', reject)
    worker.once('exit', (code) => resolve({ message, code }))
  })
}

test('worker threads track at the same time and exit with live objects while the main thread goes on', async () => {
  const wt = WeakTracker()
  const kept = []
  const runs = ['natural', 'exit', 'natural', 'exit'].map((how) => runWorker({ count: 250_000, how }))
  // The main thread keeps tracking while the workers run and exit.
  for (let i = 0; i < 20; i++) {
    kept.push({ i })
    wt.track('main', kept[i])
    trackGarbage(wt, 'main-garbage', 500)
    await new Promise(setImmediate)
  }
  for (const { message, code } of await Promise.all(runs)) {
    assert.equal(code, 0)
    assert.deepEqual(message, { total: 250_000, collected: 1000 })
  }
  await collectUntil(() => wt.refs['main-garbage'] === undefined)
  assert.equal(wt.refs.main._total, 20)
})

test('workers terminated in the middle of tracking leave the main thread counts right', async () => {
  const wt = WeakTracker()
  let collected = 0
  wt.on('gc', () => collected++)
  const kept = []
  const runs = Array.from({ length: 8 }, () => runWorker({ count: 50_000, how: 'spin' }, { terminateAfterMessage: true }))
  for (let i = 0; i < 10; i++) {
    kept.push({})
    wt.track('main', kept[i])
    trackGarbage(wt, 'main-garbage', 200)
    await new Promise(setImmediate)
  }
  for (const { message, code } of await Promise.all(runs)) {
    assert.equal(code, 1, 'terminate() exits with code 1')
    assert.equal(message.total, 50_000)
  }
  await collectUntil(() => collected === 2000)
  assert.deepEqual(Object.keys(wt.refs), ['main'])
  assert.equal(wt.refs.main._total, 10)
})
