'use strict'

// weak-tracker attach PID [--seconds N] [--snapshots K] [--port P] [--json]: growing lines of a
// running Node process that loaded nothing (see lib/attach.js), and with K >= 2 what grew across K
// heap snapshots streamed into this process's heap engine (the app pays only V8's snapshots).

const { connect, detach, streamSnapshot, AttachError, DEFAULT_PORT } = require('../attach.js')
const { growthText } = require('./growth.js')
const { inputError, usageError, parseCommandArgs } = require('./errors.js')
const { LineHistory } = require('../sampling.js')
const { buildReport, reportText } = require('../report.js')

const usage = 'usage: weak-tracker attach PID [--seconds N] [--snapshots K] [--port P] [--interval BYTES] [--json]'

function integer(name, text, min, max, fallback) {
  if (text === undefined) return fallback
  const n = Number(text)
  if (!/^\d+$/.test(text) || n < min || n > max) throw usageError(`--${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(text)}`)
  return n
}

function options(argv) {
  const { values, positionals } = parseCommandArgs(argv, {
    seconds: { type: 'string' },
    snapshots: { type: 'string' },
    port: { type: 'string' },
    interval: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help) return { help: true }
  if (positionals.length !== 1 || !/^\d+$/.test(positionals[0])) throw usageError('PID must be a process id')
  return {
    pid: Number(positionals[0]),
    seconds: integer('seconds', values.seconds, 1, 86_400, 30),
    snapshots: snapshotsOption(values.snapshots),
    port: integer('port', values.port, 1, 65_535, DEFAULT_PORT),
    interval: integer('interval', values.interval, 1024, 2 ** 30, 128 * 1024),
    json: values.json === true,
  }
}

// 0 (none), or 2 to 10 snapshots: growth compares two or more.
function snapshotsOption(text) {
  const k = integer('snapshots', text, 0, 10, 0)
  if (k === 1) throw usageError('--snapshots must be 0, or 2 or more: growth compares snapshots')
  return k
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// Samples the app's live allocations for `seconds`, reading the profile six times, evenly: the
// user chose the time, and each read pauses the app about as long as a full collection.
const READS = 6
async function sample(session, { seconds, interval, snapshots }, native) {
  const history = new LineHistory({ interval, window: READS })
  // Reads and snapshots, each at its time from the start: reads evenly, snapshots from the start
  // to the end.
  const events = []
  for (let read = 1; read <= READS; read++) events.push({ at: (read * seconds * 1000) / READS, read: true })
  for (let k = 0; k < snapshots; k++) events.push({ at: (k * seconds * 1000) / (snapshots - 1), snapshot: k })
  events.sort((a, b) => a.at - b.at || Number(Boolean(b.read)) - Number(Boolean(a.read)))
  const stream = snapshots > 0 ? native.growthStream() : null
  await session.call('HeapProfiler.enable')
  await session.call('HeapProfiler.startSampling', { samplingInterval: interval })
  try {
    const start = Date.now()
    for (const event of events) {
      const wait = start + event.at - Date.now()
      if (wait > 0) await sleep(wait)
      if (event.read) {
        const { profile } = await session.call('HeapProfiler.getSamplingProfile')
        history.add(profile)
      } else {
        await streamSnapshot(session, (chunk) => native.growthStreamFeed(stream, chunk))
        native.growthStreamEnd(stream, event.snapshot === snapshots - 1)
      }
    }
  } finally {
    await session.call('HeapProfiler.stopSampling').catch(() => {})
    await session.call('HeapProfiler.disable').catch(() => {})
  }
  return { history, growth: stream === null ? null : JSON.parse(native.growthStreamReport(stream, 10)) }
}

async function run(argv, { stdout = process.stdout } = {}) {
  const opts = options(argv)
  if (opts.help) {
    stdout.write(`${usage}\n`)
    return 0
  }
  // The heap engine is loaded before the app is touched: a missing binary changes nothing there.
  const native = opts.snapshots > 0 ? require('../binding.js') : null
  let session
  try {
    session = await connect(opts.pid, { port: opts.port })
  } catch (error) {
    throw error instanceof AttachError ? inputError(error.message) : error
  }
  let sampled
  try {
    sampled = await sample(session, opts, native)
  } finally {
    await detach(session)
  }
  const { history, growth } = sampled
  const report = buildReport({
    pid: opts.pid,
    lines: history.lines(),
    retained: null,
    sampling: { interval: history.interval, reads: history.reads },
  })
  if (growth !== null) report.growth = growth
  if (opts.json) stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  else stdout.write(growth === null ? reportText(report) : `${reportText(report)}\n${growthText(growth)}`)
  return 0
}

module.exports = { usage, run }
