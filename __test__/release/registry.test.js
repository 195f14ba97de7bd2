'use strict'

// Installs like a user, from a registry: the seven platform packages and the main package are
// published the way a release does it (`napi pre-publish`, then `npm publish`) to a private
// Verdaccio on 127.0.0.1, then an empty project runs `npm install weak-tracker` from it with no
// compiler on PATH, and runs the first-program scenario: on linux-x64 natively, and on linux-arm64
// with Node's arm64 build under qemu-user (npm itself runs on that node, so it chooses the package
// as an arm64 machine would). Only the matching platform package may land in node_modules.
// Part of `npm run test:release`: it downloads Verdaccio and Node builds into the project's caches.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { npm, npmCli, napi, bareBin, runScenario } = require('../../scripts/packaged.js')
const { startRegistry } = require('../../scripts/registry.js')
const { nodeBinary } = require('../../scripts/nodes.js')
const { check } = require('../../scripts/arm64.js')
const { PLATFORMS } = require('../../lib/platform.js')

const root = path.join(__dirname, '../..')
const main = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))

let dir
let registry
test.before(async () => {
  execFileSync(process.execPath, [path.join(root, 'scripts/build-all.js')], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] })
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-registry-'))
  registry = await startRegistry(path.join(dir, 'registry'))
  const env = { ...process.env, npm_config_userconfig: registry.npmrc, npm_config_update_notifier: 'false' }

  // The release, from what `npm pack` would publish plus the npm/ folder that build:all filled.
  const [packed] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root }))
  execFileSync('tar', ['xzf', path.join(dir, packed.filename), '-C', dir])
  const release = path.join(dir, 'package')
  fs.cpSync(path.join(root, 'npm'), path.join(release, 'npm'), { recursive: true })
  napi(['pre-publish', '-t', 'npm', '--no-gh-release'], { cwd: release, env })
  npm(['publish', '--ignore-scripts'], { cwd: release, env, stdio: 'pipe' })
  // The registry has no uplink: the runtime dependencies (ws, for `weak-tracker attach`) are
  // published to it from the versions this project installed, as the public registry serves them.
  for (const dependency of Object.keys(main.dependencies ?? {})) {
    const [tarball] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir, path.join(root, 'node_modules', dependency)], { cwd: root }))
    npm(['publish', '--ignore-scripts', path.join(dir, tarball.filename)], { cwd: dir, env, stdio: 'pipe' })
  }
})

test.after(async () => {
  await registry?.stop()
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
})

// `npm install weak-tracker` in a new project, by `node` (with its own npm), with only that node
// on PATH. Returns the project's folder.
function installFromRegistry(name, node, env = {}) {
  const project = path.join(dir, name)
  fs.mkdirSync(project)
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }))
  execFileSync(node, [npmCli(), 'install', 'weak-tracker', '--no-audit', '--no-fund'], {
    cwd: project,
    stdio: 'pipe',
    env: { PATH: bareBin(path.join(dir, `${name}-bin`), node), HOME: dir, npm_config_userconfig: registry.npmrc, npm_config_cache: path.join(dir, `${name}-cache`), ...env },
  })
  fs.copyFileSync(path.join(root, '__test__/fixtures/scenario.js'), path.join(project, 'scenario.js'))
  return project
}

// fetch keeps connections open; the registry closes idle ones after 5 s, so a request can meet a
// connection closed under it ('other side closed'): that one is sent again.
async function getJson(url, attempts = 3) {
  try {
    const res = await fetch(url)
    assert.equal(res.status, 200, url)
    return await res.json()
  } catch (error) {
    if (error.name === 'AssertionError' || attempts === 1) throw error
    return getJson(url, attempts - 1)
  }
}

function assertInstalled(project, platform) {
  const modules = fs.readdirSync(path.join(project, 'node_modules')).filter((f) => !f.startsWith('.'))
  assert.deepEqual(
    modules.sort(),
    ['weak-tracker', `weak-tracker-${platform}`, ...Object.keys(main.dependencies ?? {})].sort(),
    'only the matching platform package is installed, beside the runtime dependencies',
  )
  const lock = JSON.parse(fs.readFileSync(path.join(project, 'package-lock.json'), 'utf8'))
  const locked = Object.keys(lock.packages).filter((p) => p.startsWith('node_modules/weak-tracker-'))
  assert.deepEqual(locked.sort(), PLATFORMS.map((p) => `node_modules/weak-tracker-${p}`).sort(), 'the lockfile knows every platform')
}

function assertScenario(out, project, platform, arch) {
  assert.equal(out.arch, arch)
  assert.equal(out.binary, path.join(fs.realpathSync(project), 'node_modules', `weak-tracker-${platform}`, `weak-tracker.${platform}.node`))
  const origin = Object.keys(out.before.request).find((k) => k !== '_total')
  assert.match(origin, /^at makeRequests \(.*scenario\.js:\d+:\d+\)$/)
  assert.deepEqual(out.before, { request: { _total: 10, [origin]: 10 } })
  assert.deepEqual(out.after, { request: { _total: 3, [origin]: 3 } })
  assert.equal(out.events, 7)
}

test('the registry has the main package, which lists all seven platform packages at its own version', async () => {
  const doc = await getJson(`${registry.url}weak-tracker`)
  const published = doc.versions[main.version]
  assert.deepEqual(published.optionalDependencies, Object.fromEntries(PLATFORMS.map((p) => [`weak-tracker-${p}`, main.version])))
  assert.equal(published.scripts.install, undefined)
  for (const platform of PLATFORMS) {
    const pkg = await getJson(`${registry.url}weak-tracker-${platform}`)
    assert.deepEqual(Object.keys(pkg.versions), [main.version], platform)
  }
})

test('linux-x64: npm install weak-tracker from the registry, without a compiler, then track and collect', () => {
  const project = installFromRegistry('app-x64', process.execPath)
  assertInstalled(project, 'linux-x64-gnu')
  assertScenario(runScenario(project), project, 'linux-x64-gnu', 'x64')
})

// The arm64 half needs qemu-user and a binfmt_misc entry, which .ci/run sets up as root; without
// them check() fails the test, naming that step.
test('linux-arm64 under qemu: npm install weak-tracker from the registry, then track and collect', { timeout: 600_000 }, () => {
  const arm64 = check()
  const node = nodeBinary('20', 'arm64')
  const project = installFromRegistry('app-arm64', node, arm64)
  assertInstalled(project, 'linux-arm64-gnu')
  process.env.QEMU_LD_PREFIX = arm64.QEMU_LD_PREFIX
  assertScenario(runScenario(project, node), project, 'linux-arm64-gnu', 'arm64')
})
