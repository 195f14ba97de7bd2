'use strict'

// A private npm registry on 127.0.0.1 for the install test: Verdaccio (the local registry the npm
// ecosystem uses for exactly this), with no uplink, so that an install can only get what was
// published to it. Verdaccio is installed once into WEAK_TRACKER_REGISTRY_CACHE (default
// ~/.cache/weak-tracker-registry) rather than as a devDependency: its 300 packages are needed by
// this one test, and 6.x asks for Node >= 22, so it runs on an official Node 24 (scripts/nodes.js)
// whatever Node runs the tests.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const net = require('node:net')
const { spawn } = require('node:child_process')
const { npm } = require('./packaged.js')
const { nodeBinary } = require('./nodes.js')

const VERDACCIO = '6.10.4'
const cache = process.env.WEAK_TRACKER_REGISTRY_CACHE || path.join(os.homedir(), '.cache', 'weak-tracker-registry')

function verdaccio() {
  const dir = path.join(cache, `verdaccio-${VERDACCIO}`)
  const bin = path.join(dir, 'node_modules', 'verdaccio', 'bin', 'verdaccio')
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(dir, { recursive: true })
    // Verdaccio asks for node-fetch by its `cjs` dist-tag, which not every registry mirror carries;
    // 2.7.0 is the release that tag names.
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ private: true, overrides: { 'node-fetch': '2.7.0' } }))
    npm(['install', `verdaccio@${VERDACCIO}`, '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], { cwd: dir })
  }
  return bin
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

// Starts a registry with its storage in `dir`; resolves to { url, npmrc, stop() } once it answers.
// `npmrc` is a user config file holding the registry and a publishing token.
async function startRegistry(dir) {
  fs.mkdirSync(dir, { recursive: true })
  const port = await freePort()
  const url = `http://127.0.0.1:${port}/`
  const config = path.join(dir, 'config.yaml')
  fs.writeFileSync(
    config,
    [
      `storage: ${JSON.stringify(path.join(dir, 'storage'))}`,
      'auth:',
      `  htpasswd: { file: ${JSON.stringify(path.join(dir, 'htpasswd'))}, max_users: 1 }`,
      'uplinks: {}',
      "packages: { '**': { access: $all, publish: $authenticated } }",
      'log: { type: stdout, format: pretty, level: warn }',
      '',
    ].join('\n'),
  )
  const child = spawn(nodeBinary('24'), [verdaccio(), '--config', config, '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  child.stdout.on('data', (d) => (log += d))
  child.stderr.on('data', (d) => (log += d))
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once('exit', resolve)
      child.kill()
    })
  try {
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`verdaccio exited (${child.exitCode}):\n${log}`)
      const ok = await fetch(`${url}-/ping`).then((r) => r.ok, () => false)
      if (ok) break
      if (i === 300) throw new Error(`verdaccio did not answer on ${url} within 30 s:\n${log}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    // One user, created through the registry's own sign-up endpoint (what `npm adduser` calls).
    const res = await fetch(`${url}-/user/org.couchdb.user:publisher`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'publisher', password: `pw-${process.pid}-${Date.now()}` }),
    })
    const { token } = await res.json()
    if (!token) throw new Error(`verdaccio gave no token (${res.status})`)
    const npmrc = path.join(dir, 'npmrc')
    fs.writeFileSync(npmrc, `registry=${url}\n//127.0.0.1:${port}/:_authToken=${token}\n`)
    return { url, npmrc, stop, log: () => log }
  } catch (error) {
    await stop()
    throw error
  }
}

module.exports = { startRegistry }
