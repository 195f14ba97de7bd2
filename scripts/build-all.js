'use strict'

// npm run build:all: every platform package (npm/<platform>/, napi-rs's layout) from this one
// machine, with the set-up it needs installed by scripts/cross.js into the project's caches.
// `node scripts/build-all.js --platform darwin-arm64 ...` builds only those (the GitHub workflow's
// build matrix: one job per platform, each the same zig build a release makes). Steps:
//   1. `napi create-npm-dirs`: a package.json per platform from ours (os, cpu, libc, version...);
//   2. `cargo zigbuild` for all seven targets (two cargo runs: the macOS floor differs on arm64);
//   3. each library copied to artifacts/<triple>/ under the name the napi loader looks for;
//   4. `napi artifacts`: into npm/<platform>/.
// `napi build --cross-compile` is not used for the builds: it cannot take zig's glibc suffix
// (x86_64-unknown-linux-gnu.2.17) and would build win32 with cargo-xwin, which downloads MSVC's SDK.

const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { TARGETS, rustTarget, ensureRustTargets, ensureZig, emptyLibnode } = require('./cross.js')
const { napi } = require('./packaged.js')

const root = path.join(__dirname, '..')
function libraryFile(target) {
  if (target.platform.startsWith('win32')) return 'weak_tracker.dll'
  return target.platform.startsWith('darwin') ? 'libweak_tracker.dylib' : 'libweak_tracker.so'
}

// One build:all at a time: the platform and the registry tests both start with it, and node --test
// runs test files side by side on machines with more cores. The lock is a folder holding the
// owner's pid; a lock whose owner died is taken over.
function withLock(fn) {
  const lock = path.join(root, 'target', 'build-all.lock')
  fs.mkdirSync(path.dirname(lock), { recursive: true })
  for (;;) {
    try {
      fs.mkdirSync(lock)
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid))
      break
    } catch (error) {
      if (error.code !== 'EEXIST') throw error
    }
    let owner = 0 // none yet: the owner is between mkdir and writing its pid, or just released
    try {
      owner = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8'))
    } catch {}
    if (owner > 0 && !alive(owner)) fs.rmSync(lock, { recursive: true, force: true })
    else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200)
  }
  try {
    return fn()
  } finally {
    fs.rmSync(lock, { recursive: true, force: true })
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return error.code === 'EPERM'
  }
}

function buildAll(platforms) {
  return withLock(() => build(platforms))
}

function selected(platforms) {
  if (platforms === undefined || platforms.length === 0) return TARGETS
  const unknown = platforms.filter((p) => !TARGETS.some((t) => t.platform === p))
  if (unknown.length > 0) throw new Error(`no platform package ${unknown.join(', ')}; there are ${TARGETS.map((t) => t.platform).join(', ')}`)
  return TARGETS.filter((t) => platforms.includes(t.platform))
}

function build(platforms) {
  const started = Date.now()
  const targets = selected(platforms)
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
  const listed = TARGETS.map((t) => t.triple)
  if (JSON.stringify(pkg.napi.targets) !== JSON.stringify(listed)) {
    throw new Error(`package.json napi.targets must list ${listed.join(', ')} (scripts/cross.js builds those)`)
  }
  ensureRustTargets(targets)
  const env = { ...process.env, PATH: ensureZig(), LIBNODE_PATH: emptyLibnode() }
  napi(['create-npm-dirs'])

  const byFloor = new Map()
  for (const t of targets) {
    const floor = t.macos ?? '10.13'
    byFloor.set(floor, [...(byFloor.get(floor) ?? []), t])
  }
  for (const [floor, group] of byFloor) {
    const args = ['zigbuild', '--release', '--lib', ...group.flatMap((t) => ['--target', t.build])]
    execFileSync('cargo', args, { cwd: root, env: { ...env, MACOSX_DEPLOYMENT_TARGET: floor }, stdio: 'inherit' })
  }

  const artifacts = path.join(root, 'artifacts')
  fs.rmSync(artifacts, { recursive: true, force: true })
  for (const target of targets) {
    const dir = path.join(artifacts, target.triple)
    fs.mkdirSync(dir, { recursive: true })
    const built = path.join(root, 'target', rustTarget(target), 'release', libraryFile(target))
    fs.copyFileSync(built, path.join(dir, `${pkg.napi.binaryName}.${target.platform}.node`))
  }
  // `napi artifacts` also copies each binary beside the package.json it reads. Given a copy in
  // artifacts/, it leaves the repository root alone: rewriting a binary in place there could crash
  // a test process that has it loaded.
  fs.copyFileSync(path.join(root, 'package.json'), path.join(artifacts, 'package.json'))
  napi(['artifacts', '--output-dir', 'artifacts', '--npm-dir', 'npm', '--package-json-path', 'artifacts/package.json'])

  const rows = targets.map((t) => {
    const file = path.join(root, 'npm', t.platform, `${pkg.napi.binaryName}.${t.platform}.node`)
    return `| ${pkg.name}-${t.platform} | ${t.build} | ${(fs.statSync(file).size / 1024).toFixed(0)} KiB |`
  })
  console.log(['| package | built for | binary |', '|---|---|---|', ...rows].join('\n'))
  console.log(`\nbuild:all: ${targets.length} platform package${targets.length === 1 ? '' : 's'} in npm/ (${((Date.now() - started) / 1000).toFixed(0)} s)`)
}

// Puts the package's binary for `platform` in the repository root, where the napi loader looks
// first, so that the test suite runs on exactly what is published. A new file renamed into place:
// rewriting a binary that a process has loaded could crash it.
function useBuilt(platform) {
  const binary = `weak-tracker.${platform}.node`
  fs.copyFileSync(path.join(root, 'npm', platform, binary), path.join(root, `${binary}.tmp`))
  fs.renameSync(path.join(root, `${binary}.tmp`), path.join(root, binary))
}

if (require.main === module) {
  const args = process.argv.slice(2)
  const platforms = args.flatMap((a, i) => (args[i - 1] === '--platform' ? [a] : []))
  try {
    buildAll(platforms)
  } catch (error) {
    console.error(`build:all: ${error.message}`)
    process.exitCode = 1
  }
}

module.exports = { buildAll, useBuilt }
