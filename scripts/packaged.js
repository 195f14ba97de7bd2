'use strict'

// Installs weak-tracker the way a user does: `npm pack` of the main package and of this platform's
// binary package (napi-rs's layout, from `napi create-npm-dirs`, with the binary built last), then
// `npm install` of both tarballs into a new project with no install scripts and no compiler on PATH.
// Used by __test__/package.test.js and scripts/compat.js; the registry test publishes instead.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const root = path.join(__dirname, '..')
const scenario = path.join(root, '__test__', 'fixtures', 'scenario.js')
const { platformName } = require('../lib/platform.js')

// npm's own entry point, run with the current node rather than through PATH.
function npmCli() {
  if (process.env.npm_execpath && process.env.npm_execpath.endsWith('.js')) return process.env.npm_execpath
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'npm')
    if (fs.existsSync(candidate)) return fs.realpathSync(candidate)
  }
  throw new Error('npm not found on PATH')
}

// A PATH holding `node` only: no cc, no cargo, no rustc.
function bareBin(dir, nodeBinary = process.execPath) {
  const bin = path.join(dir, 'bin')
  fs.mkdirSync(bin, { recursive: true })
  fs.symlinkSync(nodeBinary, path.join(bin, 'node'))
  return bin
}

function pick(object, key) {
  return object[key] === undefined ? {} : { [key]: object[key] }
}

function npm(args, options) {
  return execFileSync(process.execPath, [npmCli(), ...args], { encoding: 'utf8', ...options })
}

// napi-rs's CLI (a devDependency), run with the current node, in the repository unless told.
const napiCli = path.join(path.dirname(require.resolve('@napi-rs/cli/package.json', { paths: [root] })), 'dist', 'cli.js')
function napi(args, options) {
  return execFileSync(process.execPath, [napiCli, ...args], { cwd: root, stdio: 'pipe', ...options })
}

// The package of this platform's binary as `napi create-npm-dirs` lays it out, in `dir`, holding
// the binary that the last build put in the repository root.
function stagePlatformPackage(dir, platform = platformName()) {
  napi(['create-npm-dirs', '--npm-dir', path.relative(root, dir)])
  const staged = path.join(dir, platform)
  const binary = `weak-tracker.${platform}.node`
  fs.copyFileSync(path.join(root, binary), path.join(staged, binary))
  return staged
}

function pack(cwd, destination) {
  const [packed] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', destination], { cwd }))
  return { tarball: path.join(destination, packed.filename), files: packed.files.map((f) => f.path).sort(), size: packed.size }
}

// Packs the repository as it is (binary already built) and this platform's package, and installs
// both tarballs into a new project under a temporary directory. Returns the paths a caller needs.
function packAndInstall() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weak-tracker-pack-'))
  const main = pack(root, dir)
  const platform = pack(stagePlatformPackage(path.join(dir, 'npm')), dir)
  const project = path.join(dir, 'project')
  fs.mkdirSync(project)
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-app', version: '1.0.0', private: true }))
  const bin = bareBin(dir)
  npm(['install', main.tarball, platform.tarball, '--ignore-scripts', '--no-audit', '--no-fund', '--offline'], {
    cwd: project,
    env: { ...process.env, PATH: bin, npm_config_update_notifier: 'false' },
  })
  fs.copyFileSync(scenario, path.join(project, 'scenario.js'))
  return {
    dir,
    project,
    files: main.files,
    size: main.size,
    platformFiles: platform.files,
    installed: path.join(project, 'node_modules/weak-tracker'),
    installedPlatform: path.join(project, `node_modules/weak-tracker-${platformName()}`),
  }
}

// Runs the tracking scenario in `project` with `nodeBinary`, with only that node on PATH; returns
// what the scenario reports.
function runScenario(project, nodeBinary = process.execPath) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weak-tracker-node-'))
  try {
    const out = execFileSync(nodeBinary, ['--expose-gc', 'scenario.js'], {
      cwd: project,
      encoding: 'utf8',
      // QEMU_LD_PREFIX: where qemu-user finds the loader of an arm64 node (scripts/arm64.js).
      env: { PATH: bareBin(dir, nodeBinary), HOME: dir, ...pick(process.env, 'QEMU_LD_PREFIX') },
      timeout: 60_000,
    })
    return JSON.parse(out)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

module.exports = { packAndInstall, bareBin, runScenario, npm, npmCli, napi }
