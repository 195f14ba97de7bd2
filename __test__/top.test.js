'use strict'

// weak-tracker top: the largest retainers of a snapshot file and its summary by class, and what the
// snapshot decoder refuses.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const runner = path.join(__dirname, 'fixtures/run-command.js')
const cli = path.join(__dirname, '../bin/weak-tracker.js')

function tmp(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weak-tracker-top-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

const top = (args) => spawnSync(process.execPath, [runner, 'top', ...args], { encoding: 'utf8', timeout: 60_000, maxBuffer: 2 ** 28 })

// A snapshot of a process whose module-level array holds 50 sessions, an object whose
// Symbol.toStringTag is a user's address and a token holds the array too, and an object keyed by
// addresses holds one more session.
function writeSnapshot(dir) {
  const file = path.join(dir, 'app.heapsnapshot')
  const script = `
    const v8 = require('node:v8')
    class Session { constructor(id) { this.id = id; this.password = 'hunter2-' + id } }
    const sessions = []
    for (let i = 0; i < 50; i++) sessions.push(new Session(i))
    globalThis.account = { [Symbol.toStringTag]: 'user:alice@example.com SECRET-1234', sessions }
    globalThis.byAddress = { ['user:alice@example.com'.slice(5)]: new Session(50) }
    v8.writeHeapSnapshot(${JSON.stringify(file)})`
  const out = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' })
  assert.equal(out.status, 0, out.stderr)
  return file
}

test('top lists the largest retainers with their paths, and the classes with count, own and retained bytes', (t) => {
  const file = writeSnapshot(tmp(t))
  const out = top([file, '--json', '--limit', '100000'])
  assert.equal(out.status, 0, out.stderr)
  const report = JSON.parse(out.stdout)
  const session = report.classes.find((c) => c.name === 'Session')
  assert.equal(session.count, 51)
  assert.ok(session.retainedSize > session.shallowSize, 'each session retains its password string')
  const array = report.retainers.find((r) => r.path.at(-1)?.edge === 'sessions' && r.name === 'Array')
  assert.ok(array, 'the array of sessions is among the retainers, reached through its property')
  assert.ok(array.retainedCount > 100, 'it retains the sessions and their strings')
  const sizes = report.retainers.map((r) => r.retainedSize)
  assert.deepEqual(sizes, [...sizes].sort((a, b) => b - a), 'largest first')
  assert.ok(report.reachableSize <= report.totalSize)
  assert.ok(report.retainers.some((r) => r.nodeType === 'closure' && /:\d+:\d+$/.test(r.location ?? '')), 'closures say where they were written')

  const text = top([file, '--limit', '5'])
  assert.equal(text.status, 0, text.stderr)
  assert.match(text.stdout, /^[\d,]+ nodes, [\d,]+ edges: [\d.]+ MiB in all, /)
  assert.match(text.stdout, /\nLargest retainers .*\n {2}1\. +[\d.]+ (KiB|MiB) +[\d,]+ objects {2}/)
  assert.match(text.stdout, /\nSummary by class \([\d,]+ classes, largest 5 by retained bytes\)\nClass +Count +Shallow +Retained\n/)
  assert.equal(text.stdout.split('\n').filter((l) => / {2}\d+\. /.test(l)).length, 5)
})

test('no string contents of the heap reach the output: an object named by its toStringTag or a key made of data is shown without the name', (t) => {
  const file = writeSnapshot(tmp(t))
  for (const args of [[file, '--json', '--limit', '100000'], [file, '--limit', '100000']]) {
    const out = top(args)
    assert.equal(out.status, 0, out.stderr)
    assert.doesNotMatch(out.stdout, /SECRET-1234|alice@example\.com|hunter2/)
    assert.match(out.stdout, /Object \(name withheld\)/)
    assert.match(out.stdout, /\(property\)/, 'the key made of data is withheld on the path')
  }
  const why = spawnSync(process.execPath, [cli, 'why', file, '--class', 'Session'], { encoding: 'utf8' })
  assert.equal(why.status, 0, why.stderr)
  assert.doesNotMatch(why.stdout, /SECRET-1234|alice@example\.com/)
  assert.match(why.stdout, /Object \(name withheld\)/, 'the tagged object is on the path, nameless')
})

test('a snapshot whose meta claims 10^12 or 2^64-1 nodes is refused in one line with exit 1, by top and by why', (t) => {
  const dir = tmp(t)
  const real = fs.readFileSync(writeSnapshot(dir), 'utf8')
  for (const claim of ['1000000000000', '18446744073709551615']) {
    const file = path.join(dir, `lie-${claim}.heapsnapshot`)
    fs.writeFileSync(file, real.replace(/"node_count":\d+/, `"node_count":${claim}`))
    for (const out of [top([file]), spawnSync(process.execPath, [cli, 'why', file, '--class', 'Session'], { encoding: 'utf8' })]) {
      assert.equal(out.status, 1, out.stderr)
      assert.equal(out.signal, null)
      assert.match(out.stderr, new RegExp(`^weak-tracker: .*lie-${claim}\\.heapsnapshot: corrupt heap snapshot: snapshot\\.node_count says ${claim}, the file holds \\d+\\n$`))
      assert.equal(out.stdout, '')
    }
  }
})

test('top says in one line what is wrong with its file or its arguments', (t) => {
  const dir = tmp(t)
  const notSnapshot = path.join(dir, 'notes.json')
  fs.writeFileSync(notSnapshot, '{"hello": "world"}')
  const cases = [
    [[path.join(dir, 'missing.heapsnapshot')], 1, /^weak-tracker: cannot read .*missing\.heapsnapshot: no such file\n$/],
    [[notSnapshot], 1, /^weak-tracker: .*notes\.json: not a V8 heap snapshot: no snapshot\.meta\n$/],
    [[dir], 1, /^weak-tracker: .* is not a file\n$/],
    [[], 2, /^weak-tracker: wrong number of files\nusage: weak-tracker top FILE/],
    [[notSnapshot, '--limit', '0'], 2, /--limit must be an integer >= 1, not "0"/],
    [[notSnapshot, '--nope'], 2, /Unknown option '--nope'/],
  ]
  for (const [args, status, stderr] of cases) {
    const out = top(args)
    assert.equal(out.status, status, `${args.join(' ')}: ${out.stderr}`)
    assert.match(out.stderr, stderr)
    assert.equal(out.stdout, '')
  }
  const help = top(['--help'])
  assert.equal(help.status, 0)
  assert.match(help.stdout, /^usage: weak-tracker top FILE\.heapsnapshot \[--limit N\] \[--json\]\n$/)
})

test("a node without a name on a one-line path shows its type, not a blank (a Map's table)", () => {
  const { pathLine } = require('../lib/commands/top.js')
  const steps = [
    { node: 'global', nodeType: 'object', edge: '', edgeType: 'shortcut' },
    { node: 'Map', nodeType: 'object', edge: 'cache', edgeType: 'property' },
    { node: '', nodeType: 'array', edge: 'table', edgeType: 'internal' },
    { node: 'Session', nodeType: 'object', edge: '396', edgeType: 'internal' },
  ]
  assert.equal(pathLine(steps), 'global ─cache→ Map ─table→ (array) ─396→ Session')
})
