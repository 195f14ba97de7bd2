'use strict'

// why(): the retainer paths of tracked objects, from a heap snapshot of the thread, and the same
// for snapshot files from the command line.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { WeakTracker } = require('..')
const { trackHeld } = require('./helpers.js')

const pkg = path.join(__dirname, '..')
const app = path.join(__dirname, 'fixtures/why-app.js')
const cli = path.join(__dirname, '../bin/weak-tracker.js')

// Runs the leak fixture (without --expose-gc unless asked) and returns what it printed.
function whyApp(scenario, flags = []) {
  const out = spawnSync(process.execPath, [...flags, app, pkg, scenario], { encoding: 'utf8', timeout: 60_000 })
  assert.equal(out.status, 0, out.stderr)
  assert.doesNotMatch(out.stdout, /secret-token/, 'no string contents from the heap')
  return JSON.parse(out.stdout)
}

// The [edge, node] pairs of a path, as text.
const hops = (p) => p.steps.map((s) => `${s.edge}:${s.node}`)

function assertPathHas(p, ...sequence) {
  const flat = p.steps.map((s) => `${s.edge} (${s.edgeType}) -> ${s.node}`).join('\n')
  let from = 0
  for (const part of sequence) {
    const at = flat.indexOf(part, from)
    assert.ok(at >= 0, `path lacks ${JSON.stringify(part)} after position ${from}:\n${flat}`)
    from = at + part.length
  }
}

test('a module-level array that a handler fills is named, with its variable, as what holds the objects', () => {
  const { out, refs } = whyApp('array')
  assert.equal(out.length, 1, 'the garbage sessions are not explained')
  const [site] = out
  assert.equal(site.key, 'session')
  assert.match(site.origin, /^at Object\.handleRequest \(.*why-app\.js:23:\d+\)$/)
  assert.deepEqual([site.live, site.explained, site.paths.length, site.paths[0].count], [3, 3, 1, 3])
  assertPathHas(site.paths[0], 'sessions (context) -> Array', '(element) -> Session')
  const last = site.paths[0].steps.at(-1)
  assert.deepEqual([last.node, last.nodeType], ['Session', 'object'])
  assert.match(site.paths[0].text, /^┬─── 3 objects tracked as 'session' at Object\.handleRequest/)
  assert.match(site.paths[0].text, /│ {4}↓ sessions \(context\)\n├─ Array\n│ {4}↓ \[\d\] \(element\)\n╰→ Session {3}\(tracked as 'session'\)$/)
  assert.equal(refs.session._total, 3, 'what the snapshot collected is no longer counted')
})

test("a Map cache on a long-lived object is one path shape for all its entries", () => {
  const [site] = whyApp('map').out
  assert.equal(site.paths.length, 1)
  assert.equal(site.paths[0].count, 3)
  assertPathHas(site.paths[0], 'store (context) -> Object', 'cache (property) -> Map', 'table (internal)', '-> Session')
})

test('an event listener whose closure captures the object is followed through _events and the closure context', () => {
  const [site] = whyApp('listener').out
  assertPathHas(site.paths[0], 'bus (context) -> EventEmitter', '_events (property)', 'tick (property)', 'context (internal)', 'session (context) -> Session')
})

test('a timer callback that captures the object is followed through its Timeout', () => {
  const [site] = whyApp('timer').out
  assert.equal(site.explained, 3)
  for (const p of site.paths) assertPathHas(p, '-> Timeout', '_onTimeout (property)', 'session (context) -> Session')
})

test("inside a worker thread, why() explains the worker's own heap", () => {
  const { out, mainRefs } = whyApp('worker')
  assert.equal(out[0].explained, 3)
  assertPathHas(out[0].paths[0], 'sessions (context) -> Array')
  assert.deepEqual(mainRefs, {})
})

test('a key with nothing live resolves to []', async () => {
  assert.deepEqual(whyApp('nothing').out, [])
  assert.deepEqual(await WeakTracker().why('never-tracked'), [])
})

test('after why() the explained objects are still collected once the app lets them go', () => {
  assert.deepEqual(whyApp('keepalive', ['--expose-gc']), { explained: 5, events: 5, after: {} })
})

test('options.origin picks one origin and options.limit caps how many objects are explained', async () => {
  const wt = WeakTracker()
  const kept = { a: [], b: [] }
  function fromA() {
    for (let i = 0; i < 4; i++) wt.track('k', (kept.a[i] = {}))
  }
  function fromB() {
    for (let i = 0; i < 2; i++) wt.track('k', (kept.b[i] = {}))
  }
  fromA()
  fromB()
  globalThis.__whyTestKept = kept
  const all = await wt.why('k', { limit: 3 })
  assert.deepEqual(all.map((s) => [s.live, s.explained]), [[4, 3], [2, 2]])
  const origin = all[1].origin
  const one = await wt.why('k', { origin })
  assert.deepEqual(one.map((s) => s.origin), [origin])
  assert.deepEqual(await wt.why('k', { origin: 'at nowhere' }), [])
  delete globalThis.__whyTestKept
})

test('bad arguments reject in Node form and change nothing', async () => {
  const wt = WeakTracker()
  const kept = trackHeld(wt, 'k', 1)
  const before = wt.refs
  const cases = [
    [() => wt.why(), TypeError, 'ERR_INVALID_ARG_TYPE', 'The "key" argument must be of type string. Received undefined'],
    [() => wt.why('k', null), TypeError, 'ERR_INVALID_ARG_TYPE', 'The "options" argument must be of type object. Received null'],
    [() => wt.why('k', { origin: 5 }), TypeError, 'ERR_INVALID_ARG_TYPE', 'The "options.origin" property must be of type string. Received type number (5)'],
    [() => wt.why('k', { limit: '5' }), TypeError, 'ERR_INVALID_ARG_TYPE', `The "options.limit" property must be of type number. Received type string ('5')`],
    [() => wt.why('k', { limit: 0 }), RangeError, 'ERR_OUT_OF_RANGE', 'The value of "options.limit" is out of range. It must be an integer >= 1. Received 0'],
    [() => wt.why('k', { limit: 1.5 }), RangeError, 'ERR_OUT_OF_RANGE', 'The value of "options.limit" is out of range. It must be an integer >= 1. Received 1.5'],
  ]
  for (const [call, type, code, message] of cases) {
    const promise = call()
    assert.ok(promise instanceof Promise, 'why() always returns a promise')
    await assert.rejects(promise, (error) => error instanceof type && error.code === code && error.message === message)
  }
  assert.deepEqual(wt.refs, before)
  assert.equal(kept.length, 1)
})

function tmp(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-why-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

function runCli(args) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 })
}

test('the command explains a class in a snapshot file written by v8.writeHeapSnapshot()', (t) => {
  const file = path.join(tmp(t), 'app.heapsnapshot')
  const written = spawnSync(process.execPath, [path.join(__dirname, 'fixtures/write-snapshot.js'), file], { encoding: 'utf8' })
  assert.equal(written.status, 0, written.stderr)
  const json = runCli(['why', file, '--class', 'Session', '--limit', '10', '--json'])
  assert.equal(json.status, 0, json.stderr)
  assert.doesNotMatch(json.stdout, /hunter2/, 'no string contents from the snapshot')
  const report = JSON.parse(json.stdout)
  assert.deepEqual([report.class, report.live, report.explained], ['Session', 50, 10])
  assert.equal(report.paths.length, 1)
  assertPathHas(report.paths[0], 'sessions (context) -> Array', '(element) -> Session')
  const text = runCli(['why', file, '--class', 'Session'])
  assert.equal(text.status, 0, text.stderr)
  assert.match(text.stdout, /^50 objects of class Session reachable; 20 explained\.\n\n┬─── 20 objects of class Session\n/)
  assert.match(text.stdout, /↓ sessions \(context\)\n├─ Array\n/)
})

test('the command says in one line what is wrong with its file or its arguments', (t) => {
  const dir = tmp(t)
  const notSnapshot = path.join(dir, 'notes.json')
  fs.writeFileSync(notSnapshot, '{"hello": "world"}')
  const cases = [
    [['why', path.join(dir, 'missing.heapsnapshot'), '--class', 'X'], 1, /^weak-tracker: cannot read .*missing\.heapsnapshot: no such file\n$/],
    [['why', notSnapshot, '--class', 'X'], 1, /^weak-tracker: .*notes\.json: not a V8 heap snapshot: no snapshot\.meta\n$/],
    [['why', dir, '--class', 'X'], 1, /^weak-tracker: .* is not a file\n$/],
    [['why', notSnapshot], 2, /--class NAME is required/],
    [['why', notSnapshot, '--class', 'X', '--limit', 'many'], 2, /--limit must be an integer >= 1/],
    [['explain', notSnapshot], 2, /^weak-tracker: usage: weak-tracker why FILE/],
  ]
  for (const [args, status, stderr] of cases) {
    const out = runCli(args)
    assert.equal(out.status, status, `${args.join(' ')}: ${out.stderr}`)
    assert.match(out.stderr, stderr)
    assert.doesNotMatch(out.stderr, /\n\s+at /, 'no stack trace')
  }
})

test('why() refuses with ERR_WEAK_TRACKER_NO_MEMORY, before taking a snapshot, when the memory is not there', async (t) => {
  const why = require('../lib/why.js')
  const { need, available } = why.headroom({ heapUsed: 100 * 2 ** 20, free: 64 * 2 ** 30, constrained: 2 ** 30, rss: 512 * 2 ** 20 })
  assert.equal(available, 512 * 2 ** 20, 'a container limit counts, less what the process already uses')
  assert.ok(need > available)
  assert.deepEqual(why.headroom({ heapUsed: 1, free: 100, constrained: 0, rss: 0 }).available, 100)
  // The real check, with the process made to look short of memory.
  const os = require('node:os')
  t.mock.method(os, 'freemem', () => 1024)
  const wt = WeakTracker()
  const kept = trackHeld(wt, 'k', 1)
  await assert.rejects(wt.why('k'), { code: 'ERR_WEAK_TRACKER_NO_MEMORY', message: /needs about \d+ MiB of memory and only 0 MiB is available: why\(\) was not run\./ })
  assert.equal(kept.length, 1)
})
