'use strict'

// weak-tracker growth: what grew across snapshots of one process, taken in time order.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const runner = path.join(__dirname, 'fixtures/run-command.js')
const app = path.join(__dirname, 'fixtures/growth-app.js')

const growth = (args) => spawnSync(process.execPath, [runner, 'growth', ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 2 ** 28 })

// Three snapshots of the leaking fixture, written once for the file.
let files
function snapshots() {
  if (files) return files
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weak-tracker-growth-'))
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
  const out = spawnSync(process.execPath, [app, dir, '3'], { encoding: 'utf8' })
  assert.equal(out.status, 0, out.stderr)
  files = [0, 1, 2].map((k) => path.join(dir, `${k}.heapsnapshot`))
  return files
}

const edges = (steps) => steps.map((s) => s.edge)

test('the array a module fills at every step is named as an object that grew at every step, with its variable', () => {
  const out = growth([...snapshots(), '--json'])
  assert.equal(out.status, 0, out.stderr)
  const report = JSON.parse(out.stdout)
  assert.equal(report.snapshots, 3)
  const array = report.unbound.find((u) => u.name === 'Array' && u.path.at(-1).edge === 'sessions')
  assert.ok(array, JSON.stringify(report.unbound.map((u) => [u.name, edges(u.path)])))
  assert.equal(array.retainedCounts.length, 3)
  assert.ok(array.retainedCounts[1] - array.retainedCounts[0] >= 100 && array.retainedCounts[2] - array.retainedCounts[1] >= 100)
  assert.ok(array.retainedSizes[0] < array.retainedSizes[1] && array.retainedSizes[1] < array.retainedSizes[2])
})

test('new objects are grouped by class and path, with their count in every snapshot, the leaks first', () => {
  const report = JSON.parse(growth([...snapshots(), '--json']).stdout)
  const [first, second] = report.newObjects
  assert.equal(first.class, 'Session')
  assert.deepEqual(first.counts, [0, 100, 200])
  assert.equal(first.growing, true)
  assert.equal(edges(first.path).at(-2), 'sessions')
  assert.match(first.path.at(-1).edge, /^\[\d+\]$/)
  assert.equal(second.class, 'Link')
})

test("V8's odd ids only grow: an object the first snapshot lacks has an odd id above all of its odd ids", () => {
  // What growth relies on to tell new objects without keeping the first snapshot's ids.
  const ids = (file) => {
    const { snapshot, nodes } = JSON.parse(fs.readFileSync(file, 'utf8'))
    const fields = snapshot.meta.node_fields
    const at = fields.indexOf('id')
    const out = []
    for (let i = at; i < nodes.length; i += fields.length) out.push(nodes[i])
    return out
  }
  const [base, , last] = snapshots()
  const before = new Set(ids(base))
  const max = Math.max(...[...before].filter((id) => id % 2 === 1))
  const fresh = ids(last).filter((id) => id % 2 === 1 && !before.has(id))
  assert.ok(fresh.length > 1000)
  assert.deepEqual(fresh.filter((id) => id <= max), [])
})

test('a linked chain that grows is one group whatever its length', () => {
  const report = JSON.parse(growth([...snapshots(), '--json']).stdout)
  const links = report.newObjects.filter((g) => g.class === 'Link')
  assert.equal(links.length, 1, JSON.stringify(report.newObjects.map((g) => [g.class, g.counts, edges(g.path)])))
  assert.deepEqual(links[0].counts, [0, 50, 100], 'every link, the head that the variable holds included')
  assert.deepEqual(edges(links[0].path).at(-1), 'chain', 'the shortest example: the head')
})

test('the report carries names and counts, never the contents of strings from the heap', () => {
  for (const args of [[...snapshots(), '--json', '--limit', '1000'], [...snapshots(), '--limit', '1000']]) {
    const out = growth(args)
    assert.equal(out.status, 0, out.stderr)
    assert.doesNotMatch(out.stdout, /SECRET-1234|alice@example\.com|token-|user\d/)
  }
  const text = growth([...snapshots(), '--limit', '2']).stdout
  assert.match(text, /^3 snapshots compared, in the order given\.\n\nObjects that grew at every step/)
  assert.match(text, /\n {2}1\. Session: 0 → 100 → 200 \(grew at every step\); [\d.]+ KiB retained, [\d.]+ KiB own\n {5}.*─sessions→ Array ─\[\d+\]→ Session\n/)
})

test('growth needs two files or more, and says in one line what is wrong', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weak-tracker-growth-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const notSnapshot = path.join(dir, 'notes.json')
  fs.writeFileSync(notSnapshot, '{"hello": "world"}')
  const [base] = snapshots()
  const cases = [
    [[base], 2, /^weak-tracker: wrong number of files\nusage: weak-tracker growth BASE/],
    [[base, path.join(dir, 'missing.heapsnapshot')], 1, /^weak-tracker: cannot read .*missing\.heapsnapshot: no such file\n$/],
    [[base, notSnapshot], 1, /^weak-tracker: .*notes\.json: not a V8 heap snapshot: no snapshot\.meta\n$/],
    [[base, base, '--limit', 'x'], 2, /--limit must be an integer >= 1/],
  ]
  for (const [args, status, stderr] of cases) {
    const out = growth(args)
    assert.equal(out.status, status, `${args.join(' ')}: ${out.stderr}`)
    assert.match(out.stderr, stderr)
    assert.equal(out.stdout, '')
  }
})
