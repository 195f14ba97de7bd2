'use strict'

// weak-tracker/register: zero code. `node --require weak-tracker/register app.js` (or `--import`,
// or NODE_OPTIONS) samples live allocations per line, watches HTTP requests, responses and sockets
// that should be garbage once they are done, and reports when asked. Configured only by the
// environment variables of CONFIG; silent, portless and never in the app's way unless one asks:
// every hook is guarded, every timer unref()ed, nothing runs at exit unless WEAK_TRACKER_REPORT=exit.

const fs = require('node:fs')
const os = require('node:os')
const http = require('node:http')
const { isMainThread, threadId } = require('node:worker_threads')
const { AllocationSampler, bySuspicion, setLineSource } = require('./sampling.js')
const { buildReport, reportText } = require('./report.js')

const CHANNEL = 'weak-tracker/register'
// Reports are never read from these: SIGUSR1 opens the inspector, the others cannot be caught.
const RESERVED_SIGNALS = new Set(['SIGUSR1', 'SIGKILL', 'SIGSTOP'])

class ConfigError extends Error {}

function portOf(name, text) {
  const port = Number(text)
  if (!/^\d+$/.test(text) || port > 65535) throw new ConfigError(`${name} must be a port number (0 to 65535), not ${JSON.stringify(text)}`)
  return port
}

function positive(name, text, min, max) {
  const n = Number(text)
  if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be a number from ${min} to ${max}, not ${JSON.stringify(text)}`)
  }
  return n
}

// The configuration from `env`; throws ConfigError naming the variable that is wrong.
function config(env) {
  const get = (name) => (env[name] === undefined || env[name] === '' ? undefined : env[name])
  const report = get('WEAK_TRACKER_REPORT') ?? 'signal'
  let mode = report
  let every = 0
  if (report !== 'signal' && report !== 'exit') {
    mode = 'interval'
    every = positive('WEAK_TRACKER_REPORT', report, 1, 86_400)
  }
  const signal = get('WEAK_TRACKER_SIGNAL') ?? 'SIGUSR2'
  if (!(signal in os.constants.signals) || RESERVED_SIGNALS.has(signal)) {
    throw new ConfigError(`WEAK_TRACKER_SIGNAL must be a signal name other than ${[...RESERVED_SIGNALS].join(', ')}, not ${JSON.stringify(signal)}`)
  }
  const page = get('WEAK_TRACKER_PAGE')
  const metrics = get('WEAK_TRACKER_METRICS')
  const interval = get('WEAK_TRACKER_SAMPLING_INTERVAL')
  const period = get('WEAK_TRACKER_SAMPLING_PERIOD')
  return {
    mode,
    every,
    signal,
    file: get('WEAK_TRACKER_REPORT_FILE'),
    page: page === undefined ? undefined : portOf('WEAK_TRACKER_PAGE', page),
    metrics: metrics === undefined ? undefined : portOf('WEAK_TRACKER_METRICS', metrics),
    interval: interval === undefined ? 128 * 1024 : positive('WEAK_TRACKER_SAMPLING_INTERVAL', interval, 1024, 2 ** 30),
    // Unset: 10 s, stretched so that reads take at most 0.5% of the thread's time; set: as given.
    period: period === undefined ? null : positive('WEAK_TRACKER_SAMPLING_PERIOD', period, 0.1, 3600),
    watch: get('WEAK_TRACKER_WATCH') !== '0',
  }
}

// Writes `text` to `file` with mode 0600, replacing it whole (a reader never sees half a report).
function writePrivate(file, text) {
  const temp = `${file}.${process.pid}.tmp`
  const fd = fs.openSync(temp, 'w', 0o600)
  try {
    fs.fchmodSync(fd, 0o600)
    fs.writeSync(fd, text)
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(temp, file)
}

class Register {
  #config
  #sampler
  #tracker = null
  #watcher = null
  #timer = null
  #reportTimer = null
  #channel = null
  // threadId -> the latest lines a worker published.
  #workerLines = new Map()
  #servers = []

  constructor(cfg) {
    this.#config = cfg
    this.#sampler = new AllocationSampler({ interval: cfg.interval, window: 6 })
  }

  start() {
    this.#sampler.start()
    this.#schedule()
    if (typeof BroadcastChannel === 'function') {
      this.#channel = new BroadcastChannel(CHANNEL)
      if (isMainThread) this.#channel.onmessage = (event) => this.#fromWorker(event.data)
      // After onmessage, which refs the channel: it must not keep the app from exiting.
      this.#channel.unref?.()
    }
    if (!isMainThread) return
    setLineSource(() => this.#lines())
    if (this.#config.watch) this.#startWatching()
    const { mode, every, signal } = this.#config
    if (mode === 'signal') process.on(signal, () => this.#guard(() => this.report({ why: true })))
    else if (mode === 'exit') process.on('exit', () => this.#guard(() => this.reportNow()))
    else this.#reportTimer = setInterval(() => this.#guard(() => this.report({ why: false })), every * 1000).unref()
    if (this.#config.page !== undefined) this.#startPage()
    if (this.#config.metrics !== undefined) this.#startMetrics()
  }

  #guard(fn) {
    try {
      const result = fn()
      if (result instanceof Promise) result.catch((error) => this.#complain(error))
    } catch (error) {
      this.#complain(error)
    }
  }

  // Something the user asked for (a report, a port) failed: one line, never a throw into the app.
  #complain(error) {
    try {
      process.stderr.write(`weak-tracker/register: ${error.message.split('\n')[0]}\n`)
    } catch {
      // stderr is gone: nothing else to tell.
    }
  }

  #schedule() {
    const { period } = this.#config
    const delay = period === null ? this.#sampler.nextDelay(10_000) : period * 1000
    this.#timer = setTimeout(() => {
      this.#guard(() => {
        this.#sampler.read()
        if (!isMainThread) this.#channel?.postMessage({ threadId, lines: this.#sampler.lines().slice(0, 20) })
      })
      this.#schedule()
    }, delay).unref()
  }

  #fromWorker(message) {
    if (message === null || typeof message !== 'object' || !Array.isArray(message.lines)) return
    this.#workerLines.set(message.threadId, message.lines.map((line) => ({ ...line, thread: message.threadId })))
  }

  #startWatching() {
    const { WeakTracker } = require('./tracker.js')
    const { Watcher } = require('./watch.js')
    this.#tracker = new WeakTracker()
    this.#watcher = new Watcher(this.#tracker)
  }

  #startPage() {
    const tracker = this.#tracker ?? require('./shared.js').sharedTracker()
    tracker
      .serve({ port: this.#config.page, host: '127.0.0.1' })
      .then((page) => this.#servers.push(page))
      .catch((error) => this.#complain(error))
  }

  #startMetrics() {
    const { metrics, metricsContentType } = require('./process.js')
    const server = http.createServer((req, res) => {
      if (req.url !== '/metrics' || req.method !== 'GET') {
        res.writeHead(404).end()
        return
      }
      res.writeHead(200, { 'content-type': metricsContentType }).end(metrics())
    })
    server.on('error', (error) => this.#complain(error))
    server.listen(this.#config.metrics, '127.0.0.1')
    server.unref()
    this.#servers.push({ close: () => new Promise((resolve) => server.close(resolve)) })
  }

  #lines() {
    const lines = this.#sampler.lines().map((line) => ({ ...line, thread: threadId }))
    for (const workerLines of this.#workerLines.values()) lines.push(...workerLines)
    lines.sort(bySuspicion)
    return lines
  }

  #retained() {
    return this.#tracker === null ? [] : this.#tracker.retained({ olderThan: 0 })
  }

  #report(retained) {
    return buildReport({
      pid: process.pid,
      lines: this.#lines(),
      retained,
      sampling: { interval: this.#sampler.interval, reads: this.#sampler.reads },
    })
  }

  #write(report) {
    if (this.#config.file !== undefined) writePrivate(this.#config.file, `${JSON.stringify(report, null, 2)}\n`)
    else process.stderr.write(reportText(report))
  }

  // A report without retainer paths, synchronously: what 'exit' can do.
  reportNow() {
    this.#sampler.read()
    this.#write(this.#report(this.#retained()))
  }

  // A report; with `why`, the top three retained routes carry a retainer path (a heap snapshot:
  // the thread pauses while V8 takes it).
  async report({ why }) {
    this.#sampler.read()
    if (this.#tracker !== null) await this.#tracker.collect()
    const retained = this.#retained()
    if (why) {
      for (const entry of retained.slice(0, 3)) {
        try {
          const [site] = await this.#tracker.why(entry.key, { origin: entry.origin, limit: 5 })
          if (site?.paths[0] !== undefined) entry.why = site.paths[0].text
        } catch {
          // No path (memory guard, a snapshot that failed): the counts still stand.
        }
      }
    }
    this.#write(this.#report(retained))
  }
}

let started = null

// Starts once per thread; a bad configuration says so in one line and starts nothing.
function register(env = process.env) {
  if (started !== null) return started
  try {
    started = new Register(config(env))
    started.start()
  } catch (error) {
    started = null
    process.stderr.write(`weak-tracker/register: ${error.message}; not started.\n`)
  }
  return started
}

module.exports = { register, config, ConfigError }
