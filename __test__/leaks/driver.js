'use strict'

// Drives the leak fixtures in apps/: starts one as a real process (extra node flags and env),
// sends it requests over keep-alive HTTP with bounded concurrency, takes heap snapshots of it
// with --heapsnapshot-signal into a directory of ours, and stops it.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const http = require('node:http')
const net = require('node:net')
const { spawn, execFile } = require('node:child_process')
const { once } = require('node:events')
const { setTimeout: sleep } = require('node:timers/promises')

const APPS = ['session', 'race', 'interval', 'debug', 'timeout', 'lru']
const appFile = (name) => path.join(__dirname, 'apps', `${name}.js`)

// An env without what a developer's shell may set for the tool, node or debug.
function cleanEnv(extra = {}) {
  const env = { ...process.env }
  for (const name of Object.keys(env)) {
    if (name.startsWith('WEAK_TRACKER_') || name === 'NODE_OPTIONS' || name === 'DEBUG') delete env[name]
  }
  return { ...env, ...extra }
}

// A temporary directory removed when this process exits.
function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

// Starts apps/<name>.js with `nodeArgs` before it. With `snapshotDir`, SIGUSR2 makes it write a
// heap snapshot there. Resolves once it prints its port.
async function start(name, { nodeArgs = [], env = {}, snapshotDir, concurrency = 4 } = {}) {
  const flags = [...nodeArgs]
  if (snapshotDir !== undefined) flags.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`)
  const child = spawn(process.execPath, [...flags, appFile(name)], { env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  const exited = once(child, 'exit')
  while (!stdout.includes('\n')) {
    const [code] = await Promise.race([once(child.stdout, 'data'), exited])
    if (typeof code === 'number' || code === null) throw new Error(`${name} exited before it listened: ${stderr}`)
  }
  const { port, pid } = JSON.parse(stdout.split('\n')[0])
  // One agent per app: the same few keep-alive sockets serve every request of the run.
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  let sent = 0
  let taken = 0

  const get = (urlPath) =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: urlPath, agent }, (res) => {
          res.resume()
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${name}: ${urlPath} answered ${res.statusCode}`))))
        })
        .on('error', reject)
    })

  // `n` requests, `concurrency` at a time, each to a path of its own (each leaks one item).
  const drive = async (n) => {
    let left = n
    const worker = async () => {
      while (left > 0) {
        left--
        await get(`/item/${sent++}`)
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker))
  }

  // Writes a heap snapshot and resolves with its path once the file is whole.
  const snapshot = async () => {
    if (snapshotDir === undefined) throw new Error('start() was not given a snapshotDir')
    const before = new Set(fs.readdirSync(snapshotDir))
    process.kill(pid, 'SIGUSR2')
    taken++
    const file = await complete(snapshotDir, before)
    // Our own name, in the order taken.
    const named = path.join(snapshotDir, `${name}-${taken}.heapsnapshot`)
    fs.renameSync(file, named)
    return named
  }

  const stop = async () => {
    agent.destroy()
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin.write('stop\n')
      await exited
    }
    return { code: child.exitCode, stdout, stderr }
  }

  return { child, pid, port, drive, snapshot, stop, get sent() { return sent } }
}

// The new .heapsnapshot file of `dir` once V8 has finished it: it ends with the strings table's
// `]}` and its size held still for two polls.
async function complete(dir, before, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs
  let file
  let size = -1
  let still = 0
  while (Date.now() < deadline) {
    await sleep(100)
    file ??= fs.readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f))
    if (file === undefined) continue
    const full = path.join(dir, file)
    const now = fs.statSync(full).size
    if (now === size && now > 2 && endsWith(full, now, ']}')) {
      if (++still >= 2) return full
    } else {
      still = 0
    }
    size = now
  }
  throw new Error(`no complete heap snapshot in ${dir} after ${timeoutMs} ms`)
}

function endsWith(file, size, text) {
  const fd = fs.openSync(file, 'r')
  try {
    const buf = Buffer.alloc(text.length)
    fs.readSync(fd, buf, 0, text.length, size - text.length)
    return buf.toString() === text
  } finally {
    fs.closeSync(fd)
  }
}

// Snapshots of app `name` after each count of leaked items in `marks` (cumulative: 200, 5200,
// 10200), in a fresh directory. Resolves with { dir, files, stderr }.
async function snapshots(name, marks, { dir = tempDir(`weak-tracker-leaks-${name}-`), ...options } = {}) {
  const app = await start(name, { ...options, snapshotDir: dir })
  const files = []
  let stderr = ''
  try {
    for (const mark of marks) {
      await app.drive(mark - app.sent)
      files.push(await app.snapshot())
    }
  } finally {
    ;({ stderr } = await app.stop())
  }
  return { dir, files, stderr }
}

// A TCP port nothing listens on right now (for --inspect-port).
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

// Runs bin/weak-tracker.js with `args`; resolves with { code, stdout, stderr }.
function weakTracker(args, { timeout = 120_000 } = {}) {
  const bin = path.join(__dirname, '..', '..', 'bin', 'weak-tracker.js')
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: cleanEnv(), timeout, maxBuffer: 2 ** 28 }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr })
    })
  })
}

module.exports = { APPS, appFile, cleanEnv, tempDir, start, snapshots, complete, freePort, weakTracker }
