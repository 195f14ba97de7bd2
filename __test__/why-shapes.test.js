'use strict'

// why() on the long chains real leaks are made of (promise reactions, timer lists, linked lists):
// short paths with a `× N` line, what each holder retains, and results of bounded size.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const pkg = path.join(__dirname, '..')
const app = path.join(__dirname, 'fixtures/why-shapes.js')
const cli = path.join(__dirname, '../bin/weak-tracker.js')

const MAX_JSON = 256 * 1024

// Runs a scenario of the fixture and returns what why() said, with the size of its JSON.
function whyShapes(scenario, limit = 20) {
  const out = spawnSync(process.execPath, [app, pkg, scenario], {
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 1 << 28,
    env: { ...process.env, WHY_LIMIT: String(limit) },
  })
  assert.equal(out.status, 0, out.stderr)
  assert.doesNotMatch(out.stdout, /secret-token/, 'no string contents from the heap')
  return { sites: JSON.parse(out.stdout), bytes: Buffer.byteLength(out.stdout) }
}

function assertReadable(sites, bytes) {
  assert.ok(bytes <= MAX_JSON, `${bytes} bytes of JSON`)
  for (const site of sites) {
    for (const p of site.paths) {
      const lines = p.text.split('\n').length
      assert.ok(lines <= 40, `${lines} lines:\n${p.text}`)
      for (const step of p.steps) {
        if (step.repeat !== undefined) assert.ok(Number.isInteger(step.repeat) && step.repeat > 1, JSON.stringify(step))
      }
    }
  }
}

const repeats = (p) => p.steps.filter((s) => s.repeat !== undefined)

test('2,000 never-settling Promise.race() calls give a short path with the reaction chain as one × line', (t) => {
  const { sites, bytes } = whyShapes('race')
  if (sites.length === 0) {
    // Seen on Node 26: the races' results are collected, the reactions no longer hold them.
    t.skip("this Node's Promise.race does not keep what it raced (nodejs/node#17469 does not occur)")
    return
  }
  assertReadable(sites, bytes)
  const [site] = sites
  assert.deepEqual([site.live, site.explained], [2000, 20])
  assert.equal(site.paths.reduce((n, p) => n + p.count, 0), 20)
  const chained = site.paths.find((p) => repeats(p).length > 0)
  assert.ok(chained, site.paths.map((p) => p.text).join('\n\n'))
  assert.ok(chained.steps.length < 20, `${chained.steps.length} steps`)
  const [chain] = repeats(chained)
  assert.equal(chain.node, 'system / PromiseReaction')
  // The 20 with the shortest paths are the newest races: at most 19 reactions deep.
  assert.ok(chain.repeat <= 19, `× ${chain.repeat}`)
  assert.match(chained.text, /│ {4}↓ \[\d\] \(hidden\) → system \/ PromiseReaction {3}× \d+\n/)
  // The promise every race waits on holds all 2,000 reactions, and says so.
  const at = chained.steps.findIndex((s) => s.edge === 'reactions_or_result')
  const shutdown = chained.steps[at - 1]
  assert.equal(shutdown.node, 'Promise')
  assert.ok(shutdown.retainedCount > 2000, `${shutdown.retainedCount} objects`)
  assert.match(chained.text, /\n├─ Promise {3}Retaining [\d.]+ KiB in \d{1,3},\d{3} objects\n│ {4}↓ reactions_or_result \(internal\)\n/)
  assert.doesNotMatch(chained.text, /IdentityMapBase|current_microtask/)
})

test('2,000 intervals started in AsyncLocalStorage.run() per request are explained through the timer list', () => {
  const { sites, bytes } = whyShapes('interval')
  assertReadable(sites, bytes)
  const [site] = sites
  assert.deepEqual([site.live, site.explained], [3, 3])
  for (const p of site.paths) {
    const flat = p.steps.map((s) => `${s.edge} -> ${s.node}`).join('\n')
    assert.match(flat, /-> TimersList\n(.*\n)*.*-> Timeout\n(.*\n)*.*-> Request$/, flat)
    assert.ok(p.steps.length < 20, flat)
  }
})

test('a linked list of 10,000 nodes is explained from its head, the nodes with the shortest paths first', () => {
  const { sites, bytes } = whyShapes('list')
  assertReadable(sites, bytes)
  const [site] = sites
  assert.deepEqual([site.live, site.explained], [10000, 20])
  // The head alone, and the next 19 as one group that shows the longest chain among them.
  assert.deepEqual(site.paths.map((p) => [p.count, repeats(p).map((s) => s.repeat)]), [[19, [18]], [1, []]])
  const [chain] = site.paths
  assert.match(chain.text, /↓ head \(context\)\n├─ Node {3}Retaining [\d.]+ KiB in 10,0\d\d objects\n│ {4}↓ next \(property\) → Node {3}× 18\n│ {4}↓ next \(property\)\n╰→ Node {3}\(tracked as 'node'\)/)
})

test('all 10,000 nodes of the list explained at once are still two short groups', () => {
  const { sites, bytes } = whyShapes('list', 100_000)
  assertReadable(sites, bytes)
  const [site] = sites
  assert.equal(site.explained, 10000)
  assert.deepEqual(site.paths.map((p) => [p.count, repeats(p).map((s) => s.repeat)]), [[9999, [9998]], [1, []]])
})

test("an emitter's listener closures print where they were written", () => {
  const { sites } = whyShapes('listener')
  const [site] = sites
  assert.deepEqual([site.live, site.explained, site.paths.length], [5, 5, 1])
  const closure = site.paths[0].steps.find((s) => s.nodeType === 'closure')
  // socket.on('timeout', () => request.id) is on line 83 of the fixture.
  assert.match(closure.node, /^\(anonymous function\) .*why-shapes\.js:83:\d+$/)
  assert.match(site.paths[0].text, /↓ timeout \(property\)\n├─ Array {3}Retaining [^\n]*\n│ {4}↓ \[\d\] \(element\)\n├─ \(anonymous function\) \S*why-shapes\.js:83:\d+ \(closure\) {3}Retaining /)
})

test('thousands of differently shaped paths, and one 300 objects deep, stay within 256 KiB and 40 lines a path', () => {
  const { sites, bytes } = whyShapes('wide', 1_000_000)
  assertReadable(sites, bytes)
  const [wide, deep] = sites
  assert.deepEqual([wide.live, wide.explained, deep.live, deep.explained], [3000, 3000, 1, 1])
  // Each of the 3,000 has a path of its own shape (its own property name): some are left out.
  assert.ok(wide.paths.length > 10 && wide.paths.length < 3000, `${wide.paths.length} groups kept`)
  // 300 distinct links, nothing to fold: the middle of the path is one marker.
  const [p] = deep.paths
  const [marker] = p.steps.filter((s) => s.omitted !== undefined)
  assert.ok(marker.omitted > 280, JSON.stringify(marker))
  assert.equal(p.steps.at(-1).edge, 'thing')
  assert.match(p.text, new RegExp(`\n│ {4}… ${marker.omitted} more steps\n`))
})

function tmp(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-why-shapes-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

function snapshotOf(t, scenario) {
  const file = path.join(tmp(t), `${scenario}.heapsnapshot`)
  const out = spawnSync(process.execPath, [app, pkg, scenario, file], { encoding: 'utf8', timeout: 120_000 })
  assert.equal(out.status, 0, out.stderr)
  return file
}

function runCli(args) {
  const out = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 1 << 28 })
  return out
}

test('the command folds the same chains, and explains one node by its id', (t) => {
  const file = snapshotOf(t, 'list')
  const out = runCli(['why', file, '--class', 'Node', '--json'])
  assert.equal(out.status, 0, out.stderr)
  const report = JSON.parse(out.stdout)
  assert.deepEqual([report.live, report.explained], [10000, 20])
  assert.deepEqual(report.paths.map((p) => [p.count, repeats(p).map((s) => s.repeat)]), [[19, [18]], [1, []]])
  // The largest retainer `top` names, explained by its id: the same path.
  const top = JSON.parse(runCli(['top', file, '--json']).stdout)
  const holder = top.retainers.find((r) => r.name === 'Node')
  assert.ok(holder, 'the head of the list is among the largest retainers')
  const one = runCli(['why', file, '--node-id', String(holder.id), '--json'])
  assert.equal(one.status, 0, one.stderr)
  const node = JSON.parse(one.stdout)
  assert.deepEqual([node.nodeId, node.name, node.nodeType, node.live, node.explained], [holder.id, 'Node', 'object', 1, 1])
  assert.deepEqual(node.paths[0].steps.map((s) => s.edge), holder.path.map((s) => s.edge))
  assert.equal(node.paths[0].steps.at(-1).retainedSize, holder.retainedSize)
  const text = runCli(['why', file, '--node-id', `@${holder.id}`])
  assert.equal(text.status, 0, text.stderr)
  assert.match(text.stdout, new RegExp(`^Node @${holder.id} is reachable\\.\\n\\n┬─── Node @${holder.id}\\n`))
  assert.match(text.stdout, /↓ head \(context\)\n╰→ Node {3}Retaining [\d.]+ KiB in 10,0\d\d objects\n$/)
})

test("the command's --class finds functions made by a factory, as the debug package makes its instances", (t) => {
  const file = snapshotOf(t, 'debug')
  const out = runCli(['why', file, '--class', 'debug', '--json'])
  assert.equal(out.status, 0, out.stderr)
  const report = JSON.parse(out.stdout)
  // Node's own modules have functions named debug too (util.debuglog): the app's are one group.
  assert.ok(report.live >= 10 && report.explained >= 10, `${report.live} live`)
  const loggers = report.paths.find((p) => p.steps.some((s) => s.edge === 'loggers'))
  assert.ok(loggers, report.paths.map((p) => p.text).join('\n\n'))
  assert.equal(loggers.count, 10)
  assert.match(loggers.steps.at(-1).node, /^debug .*why-shapes\.js:\d+:\d+$/)
  assert.equal(loggers.steps.at(-1).nodeType, 'closure')
  assert.match(loggers.text, /↓ loggers \(property\)\n├─ Array {3}Retaining [^\n]*\n│ {4}↓ \[\d\] \(element\)\n╰→ debug \S*why-shapes\.js:\d+:\d+ \(closure\)/)
})

test('the command refuses a bad or unknown --node-id in one line', (t) => {
  const file = snapshotOf(t, 'debug')
  const cases = [
    [['why', file, '--node-id', 'x'], 2, /^weak-tracker: --node-id must be a node id \(an integer >= 0\), not "x"\n/],
    [['why', file, '--node-id', ''], 2, /--node-id must be a node id/],
    [['why', file, '--node-id=-1'], 2, /--node-id must be a node id/],
    [['why', file, '--node-id', '1.5'], 2, /--node-id must be a node id/],
    [['why', file, '--node-id', '1', '--class', 'X'], 2, /--node-id takes neither --class nor --limit/],
    [['why', file, '--node-id', '4294967294'], 1, /^weak-tracker: .*debug\.heapsnapshot: no node with id 4294967294\n$/],
  ]
  for (const [args, status, stderr] of cases) {
    const out = runCli(args)
    assert.equal(out.status, status, `${args.join(' ')}: ${out.stderr}`)
    assert.match(out.stderr, stderr)
    assert.equal(out.stdout, '')
  }
})

test('of more live objects than it can probe, why() probes the newest half, the oldest quarter and a spread between', () => {
  const { candidates } = require('../lib/why.js')
  const live = Array.from({ length: 10_000 }, (_, i) => i)
  const picked = candidates(live, 20)
  assert.equal(picked.length, 1000)
  assert.equal(new Set(picked).size, 1000, 'no object twice')
  assert.deepEqual(picked.slice(0, 250), live.slice(0, 250))
  assert.deepEqual(picked.slice(-500), live.slice(-500))
  const between = picked.slice(250, 500)
  assert.ok(between.every((n, i) => n >= 250 && n < 9500 && (i === 0 || n > between[i - 1])))
  assert.ok(between.at(-1) > 9000, 'spread over the whole middle')
  // A limit above the pool size probes that many; fewer live objects than that are all probed.
  assert.equal(candidates(live, 4000).length, 4000)
  assert.equal(candidates(live.slice(0, 900), 20).length, 900)
  assert.equal(candidates(live, 2 ** 32).length, 10_000)
})
