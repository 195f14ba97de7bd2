'use strict'

// Installs weak-tracker the way a user does: `npm pack`, then `npm install <tarball>` into a new
// project with no install scripts and no compiler on PATH. Used by __test__/package.test.js and
// scripts/compat.js.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const root = path.join(__dirname, '..')
const scenario = path.join(__dirname, 'scenario.js')

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

function npm(args, options) {
  return execFileSync(process.execPath, [npmCli(), ...args], { encoding: 'utf8', ...options })
}

// Packs the repository as it is (binary already built) and installs the tarball into a new
// project under a temporary directory. Returns the paths a caller needs.
function packAndInstall() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weak-tracker-pack-'))
  const [packed] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root }))
  const tarball = path.join(dir, packed.filename)
  const project = path.join(dir, 'project')
  fs.mkdirSync(project)
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-app', version: '1.0.0', private: true }))
  const bin = bareBin(dir)
  npm(['install', tarball, '--ignore-scripts', '--no-audit', '--no-fund', '--offline'], {
    cwd: project,
    env: { ...process.env, PATH: bin, npm_config_update_notifier: 'false' },
  })
  fs.copyFileSync(scenario, path.join(project, 'scenario.js'))
  return { dir, project, files: packed.files.map((f) => f.path).sort(), installed: path.join(project, 'node_modules/weak-tracker') }
}

// Runs the tracking scenario in `project` with `nodeBinary`, with only that node on PATH; returns
// what the scenario reports.
function runScenario(project, nodeBinary = process.execPath) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weak-tracker-node-'))
  try {
    const out = execFileSync(nodeBinary, ['--expose-gc', 'scenario.js'], {
      cwd: project,
      encoding: 'utf8',
      env: { PATH: bareBin(dir, nodeBinary), HOME: dir },
      timeout: 60_000,
    })
    return JSON.parse(out)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

module.exports = { packAndInstall, runScenario, npm }
