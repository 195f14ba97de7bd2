'use strict'

// The seven platform packages, built from this machine by `npm run build:all` (run first; cargo
// rebuilds nothing when nothing changed), checked for what can be checked without running them:
// file format and architecture, the Node-API entry point exported, no dynamic dependency beyond the
// platform's own system libraries, the oldest glibc or macOS they claim, and each package.json.
// Part of `npm run test:release`. linux-x64-gnu runs in every other test, linux-arm64-gnu in the
// arm64 suite under qemu (scripts/arm64.js) and in the registry test; darwin, win32 and musl are
// for the GitHub workflow (__test__/integration/workflow.test.js checks its shape).

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { TARGETS, llvmReadobj } = require('../../scripts/cross.js')
const { PLATFORMS } = require('../../lib/platform.js')

const root = path.join(__dirname, '../..')
const main = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))

// llvm-readobj and llvm-objdump from rustup's llvm-tools, found (and added if missing) once.
let readobj
let objdump
test.before(() => {
  execFileSync(process.execPath, [path.join(root, 'scripts/build-all.js')], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] })
  const tool = (file) => (...args) => execFileSync(file, args, { encoding: 'utf8', maxBuffer: 64 << 20 })
  const file = llvmReadobj()
  readobj = tool(file)
  objdump = tool(path.join(path.dirname(file), 'llvm-objdump'))
})

// What llvm-readobj says of any format: `Format:`, `Arch:` and the NeededLibraries list.
function headers(file) {
  const out = readobj('--file-headers', '--needed-libs', file)
  const needed = out.match(/NeededLibraries \[\n([^\]]*)\]/)[1].split('\n').map((l) => l.trim()).filter(Boolean)
  return { format: out.match(/^Format: (.+)$/m)[1], arch: out.match(/^Arch: (.+)$/m)[1], needed }
}

const ARCH = { x64: 'x86_64', arm64: 'aarch64' }
const FORMAT = {
  'linux-x64': 'elf64-x86-64',
  'linux-arm64': 'elf64-littleaarch64',
  'darwin-x64': 'Mach-O 64-bit x86-64',
  'darwin-arm64': 'Mach-O arm64',
  'win32-x64': 'COFF-x86-64',
}

// The libraries every machine of the platform has; nothing from a compiler's runtime
// (libgcc_s, libstdc++, libwinpthread) and nothing of Node's (node.exe, libnode).
const SYSTEM = {
  gnu: /^(libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|ld-linux-(x86-64|aarch64)\.so\.[12])$/,
  musl: /^libc\.so$/,
  darwin: /^\/usr\/lib\/lib(System\.B|iconv\.2|charset\.1|resolv\.9)\.dylib$|^\/System\/Library\/Frameworks\//,
  win32: /^(kernel32|ntdll|userenv|ws2_32|advapi32|bcrypt|bcryptprimitives|ucrtbase|msvcrt|api-ms-win-[a-z0-9-]+)\.dll$/i,
}

test('build:all makes exactly the platforms the loader knows, in package.json order', () => {
  assert.deepEqual(
    TARGETS.map((t) => t.platform),
    PLATFORMS,
  )
  assert.deepEqual(fs.readdirSync(path.join(root, 'npm')).sort(), [...PLATFORMS].sort())
})

for (const target of TARGETS) {
  const { platform } = target
  const [os, arch, abi] = platform.split('-')
  const dir = path.join(root, 'npm', platform)
  const file = path.join(dir, `weak-tracker.${platform}.node`)

  test(`${platform}: package.json says where it installs, and moves with the main package`, () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
    assert.equal(pkg.name, `weak-tracker-${platform}`)
    assert.equal(pkg.version, main.version)
    assert.equal(pkg.main, path.basename(file))
    assert.deepEqual(pkg.files, [path.basename(file)])
    assert.deepEqual(pkg.os, [os])
    assert.deepEqual(pkg.cpu, [arch])
    if (os === 'linux') assert.deepEqual(pkg.libc, [abi === 'musl' ? 'musl' : 'glibc'])
    else assert.equal(pkg.libc, undefined)
    for (const field of ['engines', 'license', 'repository']) assert.deepEqual(pkg[field], main[field], field)
  })

  test(`${platform}: ${FORMAT[`${os}-${arch}`]} for ${ARCH[arch]}, exporting the Node-API entry, needing only system libraries`, () => {
    const h = headers(file)
    assert.equal(h.format, FORMAT[`${os}-${arch}`])
    assert.equal(h.arch, ARCH[arch])
    let needed = h.needed
    if (os === 'linux') {
      const dyn = readobj('--dyn-syms', file)
      assert.match(dyn, /Name: napi_register_module_v1\b[^}]*Binding: Global[^}]*Section: \.text/)
      // Node-API is found in the host process when the addon loads, not linked.
      assert.doesNotMatch(dyn, /Name: napi_create_object\b[^}]*Binding: Global[^}]*Section: \.text/)
      if (abi === 'gnu') {
        const versions = [...dyn.matchAll(/@GLIBC_2\.(\d+)/g)].map((m) => Number(m[1]))
        assert.ok(versions.length > 0)
        assert.ok(Math.max(...versions) <= 17, `needs glibc 2.${Math.max(...versions)}; the floor is 2.17`)
      }
    } else if (os === 'darwin') {
      assert.match(objdump('--macho', '--exports-trie', file), /^0x[0-9A-F]+\s+_napi_register_module_v1$/m)
      const load = objdump('--macho', '--private-headers', file)
      const floor = arch === 'arm64' ? /cmd LC_BUILD_VERSION\n[^\n]*\n\s+platform macos\n\s+sdk [\d.]+\n\s+minos 11\.0\n/ : /cmd LC_VERSION_MIN_MACOSX\n[^\n]*\n\s+version 10\.13\n/
      assert.match(load, floor, 'the oldest macOS napi-rs projects support: 10.13, and 11.0 on Apple silicon')
      // Apple silicon runs signed code only; the linker's ad-hoc signature is enough for a dylib.
      if (arch === 'arm64') assert.match(load, /cmd LC_CODE_SIGNATURE/)
      const id = `@rpath/weak-tracker.${platform}.node`
      assert.match(load, new RegExp(`cmd LC_ID_DYLIB\\n[^\\n]*\\n\\s+name ${id.replace(/[.]/g, '\\.')} `), 'no build-machine path')
      needed = needed.filter((lib) => lib !== id)
    } else {
      assert.match(readobj('--coff-exports', file), /Name: napi_register_module_v1$/m)
    }
    const system = SYSTEM[os === 'linux' ? abi : os]
    assert.ok(needed.length > 0)
    for (const lib of needed) assert.match(lib, system, `${platform} needs ${lib}`)
  })
}
