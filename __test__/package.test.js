'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { packAndInstall, runScenario } = require('../scripts/packaged.js')

// One pack and install for the whole file: it is what a user does once.
const packed = packAndInstall()
test.after(() => fs.rmSync(packed.dir, { recursive: true, force: true }))

test('the tarball carries the prebuilt binary, the front, the types, README and licence, and nothing else', () => {
  assert.deepEqual(packed.files, [
    'LICENSE',
    'README.md',
    'assert.d.ts',
    'bin/weak-tracker.js',
    'binding.js',
    'index.d.ts',
    'index.js',
    'lib/assert.js',
    'lib/binding.js',
    'lib/collect.js',
    'lib/errors.js',
    'lib/origin.js',
    'lib/page.js',
    'lib/page/app.js',
    'lib/page/index.html',
    'lib/page/style.css',
    'lib/process.js',
    'lib/prometheus.js',
    'lib/refs.js',
    'lib/tracker.js',
    'lib/why.js',
    'package.json',
    'prometheus.d.ts',
    'weak-tracker.linux-x64-gnu.node',
  ])
})

test('package.json says what a user and npm need: entry points, files, engines, licence, repository, scripts', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(packed.installed, 'package.json'), 'utf8'))
  assert.equal(pkg.main, 'index.js')
  assert.equal(pkg.types, 'index.d.ts')
  assert.equal(pkg.engines.node, '>= 18')
  assert.equal(pkg.license, 'MIT')
  assert.equal(pkg.repository.type, 'git')
  assert.ok(Array.isArray(pkg.files))
  for (const script of ['build', 'build:debug', 'test', 'bench', 'soak', 'demo']) assert.ok(pkg.scripts[script], script)
  assert.equal(pkg.scripts.install, undefined, 'no install script: npm 11 would not run it anyway')
  assert.equal(pkg.scripts.postinstall, undefined)
})

test('installed from the tarball without scripts or a compiler, it tracks, collects and reports exactly', () => {
  const out = runScenario(packed.project)
  assert.equal(out.loadedFrom, path.join(fs.realpathSync(packed.installed), 'index.js'))
  const origin = Object.keys(out.before.request).find((k) => k !== '_total')
  assert.match(origin, /^at makeRequests \(.*[/\\]project[/\\]scenario\.js:\d+:\d+\)$/)
  assert.deepEqual(out.before, { request: { _total: 10, [origin]: 10 } })
  assert.deepEqual(out.after, { request: { _total: 3, [origin]: 3 } })
  assert.equal(out.events, 7)
  assert.deepEqual(out.eventKeys, ['request'])
  assert.deepEqual(out.eventOrigins, [origin])
  assert.equal(out.kept, 3)
})

test('without a binary for the platform, require fails with an error that names the platform', () => {
  const copy = path.join(packed.dir, 'no-binary')
  fs.cpSync(packed.installed, copy, { recursive: true })
  fs.rmSync(path.join(copy, 'weak-tracker.linux-x64-gnu.node'))
  const script = `try { require(${JSON.stringify(copy)}) } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }`
  const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }))
  assert.equal(out.code, 'ERR_WEAK_TRACKER_NO_BINARY')
  assert.match(out.message, /native binary for linux-x64-gnu \(Node\.js v\d+/)
})

test('the installed package puts the snapshot command on the bin path', () => {
  const bin = path.join(packed.project, 'node_modules', '.bin', 'weak-tracker')
  const out = execFileSync(bin, ['--help'], { encoding: 'utf8' })
  assert.match(out, /^usage: weak-tracker why FILE\.heapsnapshot --class NAME/)
})

test('installed without prom-client, weak-tracker loads and weak-tracker/prometheus says what it needs', () => {
  const script = `
    const wt = require('weak-tracker')()
    wt.track('k', {})
    try { require('weak-tracker/prometheus').register() } catch (e) { process.stdout.write(e.code) }
  `
  const out = execFileSync(process.execPath, ['-e', script], { cwd: packed.project, encoding: 'utf8' })
  assert.equal(out, 'ERR_WEAK_TRACKER_NO_PROM_CLIENT')
})
