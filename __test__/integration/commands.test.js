'use strict'

// The project's two test commands: `npm test`, what a contributor runs in a loop (installs nothing,
// runs nothing as root, needs no network), and `npm run test:release`, the release pipeline.
// Only .ci/run may install system packages.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { check, MAGIC } = require('../../scripts/arm64.js')

const root = path.join(__dirname, '../..')
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
const testFiles = (dir) =>
  fs
    .readdirSync(path.join(root, dir))
    .filter((f) => f.endsWith('.test.js'))
    .map((f) => path.join(root, dir, f))

// Every file of the repository that `file` loads, following relative require() calls.
function loaded(file, seen = new Set()) {
  if (seen.has(file)) return seen
  seen.add(file)
  const source = fs.readFileSync(file, 'utf8')
  for (const [, spec] of source.matchAll(/require\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g)) {
    let target = path.resolve(path.dirname(file), spec)
    if (!fs.existsSync(target) || fs.statSync(target).isDirectory()) {
      target = [`${target}.js`, path.join(target, 'index.js')].find((f) => fs.existsSync(f))
    }
    if (target && target.endsWith('.js')) loaded(target, seen)
  }
  return seen
}

// The machinery that builds every platform, downloads Node builds or Verdaccio, or needs qemu.
const RELEASE = ['build-all.js', 'cross.js', 'registry.js', 'nodes.js', 'arm64.js', 'compat.js'].map((f) => path.join(root, 'scripts', f))

test('npm test runs the core suite, the integration tests and cargo test, and nothing of the release', () => {
  assert.equal(pkg.scripts.test, 'node __test__/run.js && cargo test')
  const runner = fs.readFileSync(path.join(root, '__test__', 'run.js'), 'utf8')
  assert.match(runner, /\['\.', 'integration'\]/, 'the runner takes the core and integration folders, not release/ or leaks/')
  for (const file of [...testFiles('__test__'), ...testFiles('__test__/integration')]) {
    if (file === __filename) continue // it reads scripts/arm64.js's check, which only reads
    const release = [...loaded(file)].filter((f) => RELEASE.includes(f))
    assert.deepEqual(release.map((f) => path.relative(root, f)), [], `${path.relative(root, file)} loads release machinery`)
  }
})

test('npm run test:release builds every platform package, then runs the release tests, every Node major and arm64', () => {
  const steps = pkg.scripts['test:release'].split(' && ')
  assert.deepEqual(steps, [
    'npm run build:all',
    'node --expose-gc --test __test__/release/*.test.js',
    'node scripts/compat.js --suite --published',
    'node scripts/arm64.js',
  ])
  assert.deepEqual(testFiles('__test__/release').map((f) => path.basename(f)).sort(), ['platforms.test.js', 'registry.test.js'])
})

test('no script or test installs system packages, mounts or writes /proc: only .ci/run does, and says so', () => {
  const files = ['scripts', 'benchmark', '__test__', '__test__/integration', '__test__/release', '__test__/fixtures']
    .flatMap((dir) => fs.readdirSync(path.join(root, dir)).filter((f) => f.endsWith('.js')).map((f) => path.join(root, dir, f)))
  assert.ok(files.length > 20)
  for (const file of files.filter((f) => f !== __filename)) {
    const source = fs.readFileSync(file, 'utf8')
    assert.doesNotMatch(source, /(?:exec|spawn)\w*\(\s*['"](?:apt-get|apt|dpkg|sudo|mount|pip3?)['"]/, path.relative(root, file))
    assert.doesNotMatch(source, /writeFileSync\([^)]*binfmt|['"]\/proc\/sys\/fs\/binfmt_misc\/register['"]/, path.relative(root, file))
  }
  const ci = fs.readFileSync(path.join(root, '.ci/run'), 'utf8')
  assert.match(ci, /ONLY place in the project that installs system packages/)
  assert.match(ci, /apt-get install/)
  assert.match(ci, /^npm test$/m)
  assert.match(ci, /^npm run test:release$/m)
})

function fakeMachine(t, { qemu = true, runtimes = true, mounted = true, entry = true } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-arm64-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const paths = { qemu: path.join(dir, 'qemu-aarch64'), ldPrefix: path.join(dir, 'aarch64-linux-gnu'), binfmt: path.join(dir, 'binfmt_misc') }
  if (qemu) fs.writeFileSync(paths.qemu, '')
  if (runtimes) {
    fs.mkdirSync(path.join(paths.ldPrefix, 'lib'), { recursive: true })
    fs.writeFileSync(path.join(paths.ldPrefix, 'lib', 'libstdc++.so.6'), '')
  }
  fs.mkdirSync(paths.binfmt)
  if (mounted) fs.writeFileSync(path.join(paths.binfmt, 'register'), '')
  if (mounted && entry) fs.writeFileSync(path.join(paths.binfmt, 'qemu-aarch64'), `enabled\ninterpreter ${paths.qemu}\nflags: F\noffset 0\nmagic ${MAGIC}\n`)
  return paths
}

const emulates = process.platform === 'linux' && process.arch === 'x64'

test('the arm64 run checks for qemu and binfmt_misc, and without them fails naming the .ci/run steps, changing nothing', { skip: !emulates && 'arm64 emulation is for linux-x64 machines' }, (t) => {
  for (const [missing, says] of [
    ['qemu', /qemu-aarch64 \(Debian's qemu-user\)/],
    ['runtimes', /libstdc\+\+\.so\.6 \(libc6-arm64-cross/],
    ['mounted', /binfmt_misc mounted at/],
    ['entry', /an enabled binfmt_misc entry for arm64 ELF files/],
  ]) {
    const paths = fakeMachine(t, { [missing]: false })
    const before = fs.readdirSync(paths.binfmt).sort()
    assert.throws(() => check(paths), (error) => {
      assert.match(error.message, says)
      assert.match(error.message, /run the "system packages" and "arm64 emulation" steps of \.ci\/run/)
      return true
    })
    assert.deepEqual(fs.readdirSync(paths.binfmt).sort(), before, 'nothing registered')
    if (before.includes('register')) assert.equal(fs.readFileSync(path.join(paths.binfmt, 'register'), 'utf8'), '', 'nothing written to register')
  }
  const paths = fakeMachine(t)
  assert.equal(check(paths).QEMU_LD_PREFIX, paths.ldPrefix)
})
