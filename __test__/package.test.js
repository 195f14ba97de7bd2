'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { packAndInstall, runScenario } = require('../scripts/packaged.js')
const { PLATFORMS, platformName } = require('../lib/platform.js')

// One pack and install for the whole file: it is what a user does once.
const packed = packAndInstall()
test.after(() => fs.rmSync(packed.dir, { recursive: true, force: true }))

test('the main tarball carries the front, the loader, the types, README and licence, and no binary', () => {
  assert.deepEqual(packed.files, [
    'LICENSE',
    'README.md',
    'assert.d.ts',
    'bin/weak-tracker.js',
    'binding.js',
    'index.d.ts',
    'index.js',
    'lib/assert.js',
    'lib/attach.js',
    'lib/binding.js',
    'lib/collect.js',
    'lib/commands/attach.js',
    'lib/commands/errors.js',
    'lib/commands/growth.js',
    'lib/commands/top.js',
    'lib/commands/why.js',
    'lib/errors.js',
    'lib/format.js',
    'lib/no-growth.js',
    'lib/origin.js',
    'lib/page.js',
    'lib/page/app.js',
    'lib/page/index.html',
    'lib/page/style.css',
    'lib/platform.js',
    'lib/process.js',
    'lib/prometheus.js',
    'lib/refs.js',
    'lib/register.js',
    'lib/report.js',
    'lib/sampling.js',
    'lib/shared.js',
    'lib/tracker.js',
    'lib/validate.js',
    'lib/watch.js',
    'lib/why.js',
    'package.json',
    'prometheus.d.ts',
    'register.d.ts',
    'register.js',
  ])
  assert.ok(packed.size < 100_000, `the main tarball stays small: ${packed.size} bytes`)
})

test("this platform's package carries its binary and says where it installs", () => {
  const platform = platformName()
  assert.deepEqual(packed.platformFiles, ['README.md', 'package.json', `weak-tracker.${platform}.node`])
  const main = JSON.parse(fs.readFileSync(path.join(packed.installed, 'package.json'), 'utf8'))
  const pkg = JSON.parse(fs.readFileSync(path.join(packed.installedPlatform, 'package.json'), 'utf8'))
  assert.equal(pkg.name, `weak-tracker-${platform}`)
  assert.equal(pkg.version, main.version, 'versions move together')
  assert.equal(pkg.main, `weak-tracker.${platform}.node`)
  assert.deepEqual(pkg.os, [process.platform])
  assert.deepEqual(pkg.cpu, [process.arch])
  if (process.platform === 'linux') assert.deepEqual(pkg.libc, [platform.endsWith('-musl') ? 'musl' : 'glibc'])
  for (const field of ['engines', 'license', 'repository']) assert.deepEqual(pkg[field], main[field], field)
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

function requireError(dir, before = '') {
  const script = `${before}; try { require(${JSON.stringify(dir)}) } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }`
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }))
}

test('without its platform package, require fails with an error that names the platform and the fix', () => {
  const copy = path.join(packed.dir, 'no-binary', 'node_modules', 'weak-tracker')
  fs.cpSync(packed.installed, copy, { recursive: true })
  const out = requireError(copy)
  assert.equal(out.code, 'ERR_WEAK_TRACKER_NO_BINARY')
  assert.match(out.message, new RegExp(`native binary for ${platformName()} \\(Node\\.js v\\d+.*weak-tracker-${platformName()} should have`))
  assert.match(out.message, /without --omit=optional/)
})

test('with a damaged binary in its platform package, require fails saying what the system refused', () => {
  const project = path.join(packed.dir, 'damaged')
  fs.cpSync(packed.project, project, { recursive: true, verbatimSymlinks: true })
  const binary = path.join(project, 'node_modules', `weak-tracker-${platformName()}`, `weak-tracker.${platformName()}.node`)
  fs.writeFileSync(binary, 'not a shared library')
  const out = requireError(path.join(project, 'node_modules', 'weak-tracker'))
  assert.equal(out.code, 'ERR_WEAK_TRACKER_NO_BINARY')
  assert.match(out.message, new RegExp(`native binary for ${platformName()} \\(Node\\.js v\\d+.*\\) from weak-tracker-${platformName()}: \\S`))
  if (platformName().endsWith('-gnu')) assert.match(out.message, /invalid ELF header|file too short/)
})

test('on a platform without a package, require fails naming it and the platforms that have one', () => {
  // This machine's platform with a CPU no package is built for: linux-ppc64-gnu here,
  // darwin-ppc64 on a Mac, win32-ppc64-msvc on Windows.
  const unsupported = platformName().replace(`${process.platform}-${process.arch}`, `${process.platform}-ppc64`)
  assert.ok(!PLATFORMS.includes(unsupported), unsupported)
  const out = requireError(packed.installed, "Object.defineProperty(process, 'arch', { value: 'ppc64' })")
  assert.equal(out.code, 'ERR_WEAK_TRACKER_NO_BINARY')
  assert.ok(out.message.includes(`no native binary for ${unsupported} (Node.js v`), out.message)
  assert.ok(out.message.includes(`Prebuilt packages exist for ${PLATFORMS.join(', ')};`), out.message)
})

test('the installed package puts the snapshot command on the bin path', () => {
  // npm writes a shell script there, and on Windows a .cmd beside it, which only a shell can start.
  const windows = process.platform === 'win32'
  const bin = path.join(packed.project, 'node_modules', '.bin', windows ? 'weak-tracker.cmd' : 'weak-tracker')
  const out = execFileSync(windows ? `"${bin}"` : bin, ['why', '--help'], { encoding: 'utf8', shell: windows })
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
