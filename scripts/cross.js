'use strict'

// The cross-building set-up, installed by the project rather than by hand, and what it builds.
//
// - Rust's standard library for each target: `rustup target add`.
// - cargo-zigbuild with its own zig (the `cargo-zigbuild` and `ziglang` packages from PyPI), in a
//   virtual environment under WEAK_TRACKER_CROSS_CACHE (default ~/.cache/weak-tracker-cross). zig
//   links for every target from this one machine: glibc 2.17 symbol versions, musl, macOS (with the
//   SDK stubs zig carries) and Windows (MinGW).
// - llvm-readobj, from rustup's `llvm-tools` component, for the structural checks of binaries that
//   cannot run here (ELF, Mach-O and PE alike).

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

// Versions the build was checked with; a new zig can change what the binaries need.
const CARGO_ZIGBUILD = '0.24.1'
const ZIGLANG = '0.17.1'

// One row per platform package. `triple` is the napi target in package.json (it names the package
// and the binary), `build` what cargo zigbuild builds for it:
// - linux gnu builds carry a glibc suffix: symbols no newer than glibc 2.17, napi-rs's floor, so the
//   binary loads wherever the official Node builds run (Node 18 needs glibc 2.28).
// - win32-x64-msvc is built with the GNU toolchain (MSVC's SDK cannot be fetched here): the addon
//   imports no symbol of node.exe (napi's dyn-symbols feature), so it loads into the official,
//   MSVC-built node.exe, which looks for the `-msvc` package.
// - `macos` is the oldest macOS the binary says it runs on: 10.13 as napi-rs's template sets, 11.0
//   on Apple silicon, where no older macOS exists.
const TARGETS = [
  { triple: 'x86_64-unknown-linux-gnu', build: 'x86_64-unknown-linux-gnu.2.17', platform: 'linux-x64-gnu' },
  { triple: 'aarch64-unknown-linux-gnu', build: 'aarch64-unknown-linux-gnu.2.17', platform: 'linux-arm64-gnu' },
  { triple: 'x86_64-unknown-linux-musl', build: 'x86_64-unknown-linux-musl', platform: 'linux-x64-musl' },
  { triple: 'aarch64-unknown-linux-musl', build: 'aarch64-unknown-linux-musl', platform: 'linux-arm64-musl' },
  { triple: 'x86_64-apple-darwin', build: 'x86_64-apple-darwin', platform: 'darwin-x64', macos: '10.13' },
  { triple: 'aarch64-apple-darwin', build: 'aarch64-apple-darwin', platform: 'darwin-arm64', macos: '11.0' },
  { triple: 'x86_64-pc-windows-msvc', build: 'x86_64-pc-windows-gnu', platform: 'win32-x64-msvc' },
]

const cache = process.env.WEAK_TRACKER_CROSS_CACHE || path.join(os.homedir(), '.cache', 'weak-tracker-cross')

function run(command, args, options = {}) {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...options })
}

// The rustc target triple that cargo builds into (the glibc suffix is zig's, not rustc's).
function rustTarget(target) {
  return target.build.replace(/\.\d+\.\d+$/, '')
}

function ensureRustTargets(targets = TARGETS) {
  const installed = new Set(run('rustup', ['target', 'list', '--installed']).split('\n'))
  const missing = targets.map(rustTarget).filter((t) => !installed.has(t))
  if (missing.length > 0) run('rustup', ['target', 'add', ...missing], { stdio: ['ignore', 'ignore', 'inherit'] })
}

// A PATH whose first entry holds cargo-zigbuild and a python3 that has zig (cargo-zigbuild runs
// `python3 -m ziglang` when no `zig` is on PATH).
function ensureZig() {
  const venv = path.join(cache, `zigbuild-${CARGO_ZIGBUILD}-zig-${ZIGLANG}`)
  const bin = path.join(venv, 'bin')
  if (!fs.existsSync(path.join(bin, 'cargo-zigbuild'))) {
    fs.rmSync(venv, { recursive: true, force: true })
    run('python3', ['-m', 'venv', venv])
    run(path.join(bin, 'python3'), ['-m', 'pip', 'install', '--quiet', `cargo-zigbuild==${CARGO_ZIGBUILD}`, `ziglang==${ZIGLANG}`], {
      stdio: ['ignore', 'ignore', 'inherit'],
    })
  }
  return `${bin}${path.delimiter}${process.env.PATH}`
}

// napi-build links Windows GNU builds against a MinGW-built Node's import library. The addon uses
// none (napi's dyn-symbols feature resolves Node-API from the host process at load time), so an
// empty one satisfies the linker: an `ar` archive with no members, and the libnode.dll that
// napi-build looks for beside it. The structural test checks that the DLL imports nothing from Node.
function emptyLibnode() {
  const dir = path.join(cache, 'libnode-none')
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'libnode.a'), '!<arch>\n')
  fs.writeFileSync(path.join(dir, 'libnode.dll'), '')
  return dir
}

function llvmReadobj() {
  const components = run('rustup', ['component', 'list', '--installed'])
  if (!/^llvm-tools/m.test(components)) run('rustup', ['component', 'add', 'llvm-tools'], { stdio: ['ignore', 'ignore', 'inherit'] })
  const sysroot = run('rustc', ['--print', 'sysroot']).trim()
  const host = run('rustc', ['-vV']).match(/^host: (.+)$/m)[1]
  return path.join(sysroot, 'lib', 'rustlib', host, 'bin', 'llvm-readobj')
}

module.exports = { TARGETS, rustTarget, ensureRustTargets, ensureZig, emptyLibnode, llvmReadobj }
