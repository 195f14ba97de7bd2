'use strict'

// Zero code: real apps started with `--require weak-tracker/register` (and `--import`), real HTTP
// load on 127.0.0.1, and the reports they write; `weak-tracker attach` on a separate process.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const http = require('node:http')
const net = require('node:net')
const { spawn, execFile } = require('node:child_process')
const { once } = require('node:events')

const root = path.join(__dirname, '..')
const register = path.join(root, 'register.js')
const app = path.join(__dirname, 'fixtures', 'zero-app.js')
const bin = path.join(root, 'bin', 'weak-tracker.js')
const SECRET = 'SECRET-7f3a9c'

// An env without the variables a developer's shell may have set.
function cleanEnv(extra = {}) {
  const env = { ...process.env }
  for (const name of Object.keys(env)) if (name.startsWith('WEAK_TRACKER_') || name === 'NODE_OPTIONS') delete env[name]
  return { ...env, ...extra }
}

// Starts the app; resolves with { child, port, output() } once it listens.
async function start(args, env) {
  const child = spawn(process.execPath, [...args, app], { env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  while (!stdout.includes('\n')) {
    const [code] = await Promise.race([once(child.stdout, 'data'), once(child, 'exit')])
    if (typeof code === 'number') throw new Error(`the app exited with ${code}: ${stderr}`)
  }
  const { port } = JSON.parse(stdout.split('\n')[0])
  const stop = async () => {
    const exited = once(child, 'exit')
    child.stdin.write('stop\n')
    const [code] = await exited
    return { code, stdout, stderr }
  }
  return { child, port, stop, output: () => ({ stdout, stderr }) }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 })
test.after(() => agent.destroy())

function get(port, urlPath) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, agent }, (res) => {
        res.resume()
        res.on('end', resolve)
      })
      .on('error', reject)
  })
}

// `rounds` rounds of 200 leaking and 200 clean requests, with a pause between rounds so that
// the sampler reads in between.
async function load(port, rounds, pauseMs) {
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < 200; i += 4) {
      await Promise.all([0, 1, 2, 3].map((k) => get(port, `/leak/${r * 200 + i + k}?token=${SECRET}`)))
      await get(port, `/fine/user@example.com/${SECRET}`)
    }
    await new Promise((resolve) => setTimeout(resolve, pauseMs))
  }
}

function tempFile(name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weak-tracker-register-'))
  test.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return path.join(dir, name)
}

test('an app started with --require weak-tracker/register writes a report at exit naming the leaking line and route', async () => {
  const file = tempFile('report.json')
  const { port, stop } = await start(['--require', register], {
    WEAK_TRACKER_REPORT: 'exit',
    WEAK_TRACKER_REPORT_FILE: file,
    WEAK_TRACKER_SAMPLING_PERIOD: '0.2',
    WEAK_TRACKER_SAMPLING_INTERVAL: '16384',
  })
  await load(port, 6, 300)
  const { code, stdout, stderr } = await stop()
  assert.equal(code, 0)
  assert.equal(stderr, '', 'nothing on stderr when the report goes to a file')
  assert.equal(stdout.split('\n').filter(Boolean).length, 1, 'only the app writes to stdout')
  const text = fs.readFileSync(file, 'utf8')
  assert.equal(fs.statSync(file).mode & 0o777, 0o600)
  assert.ok(!text.includes(SECRET), 'no request data in the report')
  assert.ok(!text.includes('example.com'), 'no path segment that is data')
  const report = JSON.parse(text)
  assert.equal(report.pid > 0, true)
  assert.equal(typeof report.version, 'string')
  const top = report.lines.slice(0, 3).map((l) => l.origin)
  assert.ok(
    top.some((origin) => origin.includes('zero-app.js')),
    `the app's own line is among the top three: ${JSON.stringify(report.lines.slice(0, 5), null, 1)}`,
  )
  assert.ok(report.lines[0].growing, 'the leaking line is growing')
  const leak = report.retained.find((r) => r.kind === 'http.IncomingMessage')
  assert.equal(leak?.route, 'GET /leak/:id')
  assert.ok(leak.count >= 1000, `every kept request is retained: ${leak.count}`)
  assert.ok(!report.retained.some((r) => r.route.startsWith('GET /fine')), 'requests that were let go are not')
})

test('register is silent and exits as fast as the app when nothing is asked', async () => {
  for (const args of [[], ['--require', register]]) {
    const { port, stop } = await start(args, {})
    await load(port, 1, 0)
    const { code, stdout, stderr } = await stop()
    assert.equal(code, 0)
    assert.equal(stderr, '')
    assert.match(stdout, /^\{"port":\d+,"pid":\d+\}\n$/)
  }
})

test('a natural exit is not held up by the sampler, the signal handler or the worker channel', async () => {
  const script = "require('node:http').get; setTimeout(() => {}, 50)"
  const child = spawn(process.execPath, ['--require', register, '-e', script], { env: cleanEnv({ WEAK_TRACKER_SAMPLING_PERIOD: '0.1' }) })
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  const [code, signal] = await once(child, 'exit')
  clearTimeout(timer)
  assert.equal(signal, null, 'the process ended on its own')
  assert.equal(code, 0)
})

test('a bad variable says which, in one line, and the app runs as usual', async () => {
  const { port, stop } = await start(['--require', register], { WEAK_TRACKER_REPORT: 'sometimes' })
  await get(port, '/fine/x')
  const { code, stderr } = await stop()
  assert.equal(code, 0)
  assert.equal(
    stderr,
    'weak-tracker/register: WEAK_TRACKER_REPORT must be a number from 1 to 86400, not "sometimes"; not started.\n',
  )
})

test('--import weak-tracker/register works for an ES module app', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weak-tracker-esm-'))
  test.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const entry = path.join(dir, 'app.mjs')
  fs.writeFileSync(entry, 'globalThis.kept = []\nfor (let i = 0; i < 20000; i++) globalThis.kept.push({ i })\n')
  const out = await new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', register, entry],
      { env: cleanEnv({ WEAK_TRACKER_REPORT: 'exit', WEAK_TRACKER_SAMPLING_INTERVAL: '4096' }) },
      (error, stdout, stderr) => resolve({ error, stdout, stderr }),
    )
  })
  assert.equal(out.error, null)
  assert.match(out.stderr, /^weak-tracker report: pid \d+/)
  assert.match(out.stderr, /app\.mjs/)
})

test('the signal report carries a retainer path for the top retained route', async () => {
  const file = tempFile('signal.json')
  const { child, port, stop } = await start(['--require', register], { WEAK_TRACKER_REPORT_FILE: file })
  await load(port, 1, 0)
  child.kill('SIGUSR2')
  for (let i = 0; i < 200 && !fs.existsSync(file); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  const report = JSON.parse(fs.readFileSync(file, 'utf8'))
  const { code } = await stop()
  assert.equal(code, 0, 'SIGUSR2 no longer ends the app: the report took it')
  const leak = report.retained.find((r) => r.kind === 'http.IncomingMessage')
  assert.equal(leak.route, 'GET /leak/:id')
  assert.match(leak.why, /seen/, `the path names the array that keeps them: ${leak.why}`)
  assert.ok(!JSON.stringify(report).includes(SECRET))
})

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

function runBin(args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: cleanEnv() }, (error, stdout, stderr) =>
      resolve({ code: error ? error.code : 0, stdout, stderr }),
    )
  })
}

test('weak-tracker attach samples a running app that loaded nothing, then closes its inspector', async () => {
  const inspectPort = await freePort()
  const { child, port, stop } = await start([`--inspect-port=${inspectPort}`], {})
  let attached = true
  const loading = (async () => {
    while (attached) await load(port, 1, 50)
  })()
  const out = await runBin(['attach', String(child.pid), '--seconds', '3', '--port', String(inspectPort), '--interval', '16384', '--json'])
  attached = false
  await loading
  assert.equal(out.stderr, '')
  assert.equal(out.code, 0)
  const report = JSON.parse(out.stdout)
  assert.equal(report.pid, child.pid)
  assert.ok(
    report.lines.slice(0, 3).some((l) => l.origin.includes('zero-app.js') && l.growing),
    JSON.stringify(report.lines.slice(0, 5), null, 1),
  )
  assert.equal(report.retained, undefined, 'attach watches nothing, and says nothing about it')
  assert.ok(!out.stdout.includes(SECRET))
  // The inspector is closed again: nothing listens on its port.
  await assert.rejects(
    new Promise((resolve, reject) => net.connect(inspectPort, '127.0.0.1').once('connect', resolve).once('error', reject)),
    { code: 'ECONNREFUSED' },
  )
  const { code } = await stop()
  assert.equal(code, 0)
})

test('attach refuses what it cannot attach to, in one line, with exit code 1', async () => {
  const sleeper = spawn('sleep', ['30'])
  test.after(() => sleeper.kill())
  const notNode = await runBin(['attach', String(sleeper.pid)])
  assert.equal(notNode.code, 1)
  assert.equal(notNode.stderr, `weak-tracker: pid ${sleeper.pid} is not a Node.js process (sleep)\n`)

  const gone = await runBin(['attach', '999999999'])
  assert.equal(gone.code, 1)
  assert.equal(gone.stderr, 'weak-tracker: no process has pid 999999999\n')

  // The inspector's port is held by someone else: a plain TCP server that answers nothing.
  const taken = net.createServer((socket) => socket.destroy())
  await new Promise((resolve) => taken.listen(0, '127.0.0.1', resolve))
  test.after(() => taken.close())
  const { child, stop } = await start([`--inspect-port=${taken.address().port}`], {})
  const refused = await runBin(['attach', String(child.pid), '--port', String(taken.address().port), '--seconds', '1'])
  assert.equal(refused.code, 1)
  assert.match(refused.stderr, /^weak-tracker: pid \d+ did not open its inspector on 127\.0\.0\.1:\d+ within 5 s/)
  assert.equal(refused.stderr.split('\n').length, 2)
  const { code } = await stop()
  assert.equal(code, 0, 'the app goes on as before')

  const usage = await runBin(['attach', 'abc'])
  assert.equal(usage.code, 2)
})

function fetchText(port, urlPath) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d) => (body += d))
        res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body }))
      })
      .on('error', reject)
  })
}

test('WEAK_TRACKER_METRICS and WEAK_TRACKER_PAGE open their ports on 127.0.0.1, with the retained requests', async () => {
  const metricsPort = await freePort()
  const pagePort = await freePort()
  const { port, stop } = await start(['--require', register], {
    WEAK_TRACKER_METRICS: String(metricsPort),
    WEAK_TRACKER_PAGE: String(pagePort),
  })
  await load(port, 1, 0)
  const metrics = await fetchText(metricsPort, '/metrics')
  assert.equal(metrics.status, 200)
  assert.match(metrics.type, /^application\/openmetrics-text/)
  assert.match(metrics.body, /weak_tracker_live\{key="http\.IncomingMessage",origin="GET \/leak\/:id"[^}]*\} [1-9]\d*/)
  assert.ok(!metrics.body.includes(SECRET))
  assert.equal((await fetchText(metricsPort, '/other')).status, 404)
  const page = await fetchText(pagePort, '/')
  assert.equal(page.status, 200)
  assert.match(page.body, /<html/i)
  const { code } = await stop()
  assert.equal(code, 0)
})

test('lines of worker threads reach the main thread report, marked with their thread', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weak-tracker-workers-'))
  test.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const entry = path.join(dir, 'main.js')
  fs.writeFileSync(
    entry,
    `const { Worker } = require('node:worker_threads')
const worker = new Worker(${JSON.stringify(path.join(dir, 'worker.js'))})
worker.on('message', () => process.exit(0))
`,
  )
  fs.writeFileSync(
    path.join(dir, 'worker.js'),
    `const { parentPort } = require('node:worker_threads')
const kept = []
function workerLeak() { for (let i = 0; i < 2000; i++) kept.push({ i, list: [i, i] }) }
let rounds = 0
const timer = setInterval(() => {
  workerLeak()
  if (++rounds === 12) { clearInterval(timer); setTimeout(() => parentPort.postMessage('done'), 300) }
}, 100)
`,
  )
  const out = await new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--require', register, entry],
      { env: cleanEnv({ WEAK_TRACKER_REPORT: 'exit', WEAK_TRACKER_SAMPLING_PERIOD: '0.15', WEAK_TRACKER_SAMPLING_INTERVAL: '8192' }) },
      (error, stdout, stderr) => resolve({ error, stdout, stderr }),
    )
  })
  assert.equal(out.error, null, out.stderr)
  const line = out.stderr.split('\n').find((l) => l.includes('workerLeak'))
  assert.match(line ?? '', /worker\.js:\d+:\d+\) \[thread [1-9]\d*\]$/, out.stderr)
})

// The first `tables` event of the page's stream.
function firstTables(port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/events' }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d) => {
        text += d
        const at = text.indexOf('event: tables\ndata: ')
        const end = at < 0 ? -1 : text.indexOf('\n\n', at)
        if (end > 0) {
          req.destroy()
          resolve(JSON.parse(text.slice(at + 'event: tables\ndata: '.length, end)))
        }
      })
    })
    req.on('error', reject)
  })
}

test('the page started by WEAK_TRACKER_PAGE shows the growing lines beside the retained requests', async () => {
  const pagePort = await freePort()
  const { port, stop } = await start(['--require', register], {
    WEAK_TRACKER_PAGE: String(pagePort),
    WEAK_TRACKER_SAMPLING_PERIOD: '0.2',
    WEAK_TRACKER_SAMPLING_INTERVAL: '16384',
  })
  await load(port, 4, 300)
  const tables = await firstTables(pagePort)
  assert.ok(Array.isArray(tables.lines), 'lines are on the page')
  assert.ok(tables.lines.some((l) => l.origin.includes('zero-app.js')), JSON.stringify(tables.lines.slice(0, 5)))
  assert.ok(tables.retained.some((r) => r.key === 'http.IncomingMessage' && r.origin === 'GET /leak/:id'))
  const { code } = await stop()
  assert.equal(code, 0)
})

test('attach --snapshots 3 streams three heap snapshots into the command and names the growing array and its records', async () => {
  const inspectPort = await freePort()
  const { child, port, stop } = await start([`--inspect-port=${inspectPort}`], {})
  let attached = true
  const loading = (async () => {
    while (attached) await load(port, 1, 50)
  })()
  const out = await runBin(['attach', String(child.pid), '--seconds', '4', '--snapshots', '3', '--port', String(inspectPort), '--json'])
  attached = false
  await loading
  assert.equal(out.stderr, '')
  assert.equal(out.code, 0)
  const report = JSON.parse(out.stdout)
  assert.equal(report.growth.snapshots, 3)
  const holder = report.growth.unbound.find((u) => u.path.some((s) => s.edge === 'seen'))
  assert.ok(holder, JSON.stringify(report.growth.unbound.map((u) => u.path.map((s) => s.edge))))
  assert.ok(holder.retainedCounts[0] < holder.retainedCounts[1] && holder.retainedCounts[1] < holder.retainedCounts[2])
  const records = report.growth.newObjects.find((g) => g.growing && g.path.some((s) => s.edge === 'seen'))
  assert.ok(records, JSON.stringify(report.growth.newObjects.map((g) => [g.class, g.counts])))
  assert.ok(!out.stdout.includes(SECRET), 'no request data in what the snapshots gave')
  const { code } = await stop()
  assert.equal(code, 0)
})

test('attach refuses --snapshots 1: growth compares two or more', async () => {
  const out = await runBin(['attach', String(process.pid), '--snapshots', '1'])
  assert.equal(out.code, 2)
  assert.match(out.stderr, /^weak-tracker: --snapshots must be 0, or 2 or more/)
})
