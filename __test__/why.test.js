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
  assert.match(site.paths[0].text, /│ {4}↓ sessions \(context\)\n├─ Array {3}Retaining \d+ B in \d+ objects\n│ {4}↓ \[\d\] \(element\)\n╰→ Session {3}\(tracked as 'session'\) {3}Retaining \d+ B in \d+ objects?$/)
  assert.equal(refs.session._total, 3, 'what the snapshot collected is no longer counted')
})

test('every step of a path says what it retains, and the array retains the three sessions it holds', () => {
  const [site] = whyApp('array').out
  const steps = site.paths[0].steps
  for (const step of steps) {
    assert.ok(Number.isInteger(step.retainedSize) && step.retainedSize >= 0, JSON.stringify(step))
    assert.ok(Number.isInteger(step.retainedCount) && step.retainedCount >= (step.nodeType === 'synthetic' ? 0 : 1), JSON.stringify(step))
    assert.equal(step.repeat, undefined, 'no chain here')
  }
  const array = steps.at(-2)
  const session = steps.at(-1)
  assert.equal(array.node, 'Array')
  assert.ok(session.retainedSize > 0)
  assert.ok(array.retainedCount >= 1 + 3 * session.retainedCount, `${array.retainedCount} objects`)
  assert.ok(array.retainedSize >= 3 * session.retainedSize, `${array.retainedSize} bytes`)
  const bytes = (n) => require('../lib/format.js').bytes(n)
  assert.match(site.paths[0].text, new RegExp(`├─ Array {3}Retaining ${bytes(array.retainedSize)} in ${array.retainedCount} objects\n`))
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

test("a block scope's variable is named after the variable, not printed as a slot number", () => {
  const { out } = whyApp('block')
  assert.equal(out[0].explained, out[0].live)
  assertPathHas(out[0].paths[0], 'workerLeak (context) -> Array', '(element) -> Session')
  assert.match(out[0].paths[0].text, /↓ workerLeak \(context\)\n├─ Array {3}Retaining [^\n]+\n/)
})

test('objects an interval timer holds are explained through the timer, not the microtask running the function', () => {
  const [site] = whyApp('block-timer').out
  assert.equal(site.explained, 3)
  assert.equal(site.paths.length, 1)
  const p = site.paths[0]
  assert.doesNotMatch(hops(p).join(' '), /Strong root|current_microtask|Stack roots|Identity map/)
  assertPathHas(p, '-> Timeout', '_onTimeout (property)', 'workerLeak (context) -> Array', '(element) -> Session')
})

test('an object held only as a WeakMap value is explained through the map and names its key', () => {
  const [site] = whyApp('weakmap').out
  assert.deepEqual([site.live, site.explained, site.paths.length], [3, 3, 1])
  const p = site.paths[0]
  assertPathHas(p, 'sessionOf (context) -> WeakMap', 'table (internal)', 'value for its User key (internal) -> Session')
  assert.deepEqual(p.steps.at(-1).key, { node: 'User', nodeType: 'object' })
  assert.match(p.text, /↓ value for its User key \(internal\)\n│ {6}\(a WeakMap entry: held while its key, User, is alive\)\n╰→ Session/)
})

test('a limit of 2^32 or more explains them all, not the limit modulo 2^32', async () => {
  const wt = WeakTracker()
  const kept = trackHeld(wt, 'big-limit', 5)
  for (const limit of [2 ** 32, 2 ** 32 + 1, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
    const [site] = await wt.why('big-limit', { limit })
    assert.deepEqual([site.live, site.explained], [5, 5], `limit ${limit}`)
  }
  assert.equal(kept.length, 5)
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
  assert.match(text.stdout, /↓ sessions \(context\)\n├─ Array {3}Retaining [\d.]+ KiB in \d+ objects\n/)
})

test('the command explains all objects with --limit 2^32 or more, not the limit modulo 2^32', (t) => {
  const file = path.join(tmp(t), 'app.heapsnapshot')
  const written = spawnSync(process.execPath, [path.join(__dirname, 'fixtures/write-snapshot.js'), file], { encoding: 'utf8' })
  assert.equal(written.status, 0, written.stderr)
  for (const limit of ['4294967296', '4294967301']) {
    const out = runCli(['why', file, '--class', 'Session', '--limit', limit, '--json'])
    assert.equal(out.status, 0, out.stderr)
    assert.deepEqual([JSON.parse(out.stdout).live, JSON.parse(out.stdout).explained], [50, 50], `--limit ${limit}`)
  }
})

test('the command prefers a timer that holds the objects to the microtask that wrote the snapshot, and names block-scoped variables', (t) => {
  const file = path.join(tmp(t), 'block.heapsnapshot')
  const written = spawnSync(process.execPath, [path.join(__dirname, 'fixtures/write-snapshot-block.js'), file], { encoding: 'utf8' })
  assert.equal(written.status, 0, written.stderr)
  const out = runCli(['why', file, '--class', 'Session', '--json'])
  assert.equal(out.status, 0, out.stderr)
  assert.doesNotMatch(out.stdout, /hunter2/, 'no string contents from the snapshot')
  const report = JSON.parse(out.stdout)
  assert.deepEqual([report.live, report.explained, report.paths.length], [5, 5, 1])
  assert.doesNotMatch(hops(report.paths[0]).join(' '), /Strong root|current_microtask|Stack roots|Identity map/)
  assertPathHas(report.paths[0], '-> Timeout', 'workerLeak (context) -> Array', '(element) -> Session')
})

test('weak-tracker --help lists the commands and each command has its own --help', () => {
  const top = runCli(['--help'])
  assert.equal(top.status, 0, top.stderr)
  assert.match(top.stdout, /^usage: weak-tracker <command> \[options\]\n\ncommands:\n {2}why\n/)
  const why = runCli(['why', '--help'])
  assert.equal(why.status, 0, why.stderr)
  assert.match(why.stdout, /^usage: weak-tracker why FILE\.heapsnapshot --class NAME \[--limit N\] \[--json\]\n/)
  assert.equal(why.stderr, '')
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
    [['explain', notSnapshot], 2, /^weak-tracker: unknown command "explain"\nusage: weak-tracker <command> \[options\]\n/],
    [[], 2, /^weak-tracker: a command is required\nusage: weak-tracker <command>/],
    [['why', notSnapshot, '--class', 'X', '--limit', ''], 2, /--limit must be an integer >= 1/],
    [['why', notSnapshot, '--clas', 'X'], 2, /^weak-tracker: Unknown option '--clas'.*\nusage: weak-tracker why FILE/],
  ]
  for (const [args, status, stderr] of cases) {
    const out = runCli(args)
    assert.equal(out.status, status, `${args.join(' ')}: ${out.stderr}`)
    assert.match(out.stderr, stderr)
    assert.doesNotMatch(out.stderr, /\n\s+at /, 'no stack trace')
  }
})

test('the memory guard asks for more than the worst peak measured (55 times the heap in use, 1M boxed numbers)', () => {
  const why = require('../lib/why.js')
  const heapUsed = 26 * 2 ** 20
  // benchmark/why-memory.js: 1,442 MiB of peak RSS added for 26 MiB of boxed numbers.
  const { need, available } = why.headroom({ heapUsed, free: 1442 * 2 ** 20, constrained: 0, rss: 0 })
  assert.ok(need > available, `${need} > ${available}`)
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
