'use strict'

// weak-tracker attach PID [--seconds N] [--port P] [--json]: growing lines of a running Node
// process that loaded nothing (see lib/attach.js).

const { parseArgs } = require('node:util')
const { connect, detach, AttachError, DEFAULT_PORT } = require('../attach.js')
const { inputError, usageError } = require('./errors.js')
const { LineHistory } = require('../sampling.js')
const { buildReport, reportText } = require('../report.js')

const usage = 'usage: weak-tracker attach PID [--seconds N] [--port P] [--interval BYTES] [--json]'

function integer(name, text, min, max, fallback) {
  if (text === undefined) return fallback
  const n = Number(text)
  if (!/^\d+$/.test(text) || n < min || n > max) throw usageError(`--${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(text)}`)
  return n
}

function options(argv) {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        seconds: { type: 'string' },
        port: { type: 'string' },
        interval: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (error) {
    throw usageError(error.message)
  }
  const { values, positionals } = parsed
  if (values.help) return { help: true }
  if (positionals.length !== 1 || !/^\d+$/.test(positionals[0])) throw usageError('PID must be a process id')
  return {
    pid: Number(positionals[0]),
    seconds: integer('seconds', values.seconds, 1, 86_400, 30),
    port: integer('port', values.port, 1, 65_535, DEFAULT_PORT),
    interval: integer('interval', values.interval, 1024, 2 ** 30, 128 * 1024),
    json: values.json === true,
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// Samples the app's live allocations for `seconds`, reading the profile six times, evenly: the
// user chose the time, and each read pauses the app about as long as a full collection.
const READS = 6

async function sample(session, { seconds, interval }) {
  const history = new LineHistory({ interval, window: READS })
  await session.call('HeapProfiler.enable')
  await session.call('HeapProfiler.startSampling', { samplingInterval: interval })
  try {
    const start = Date.now()
    for (let read = 1; read <= READS; read++) {
      const wait = start + (read * seconds * 1000) / READS - Date.now()
      if (wait > 0) await sleep(wait)
      const { profile } = await session.call('HeapProfiler.getSamplingProfile')
      history.add(profile)
    }
  } finally {
    await session.call('HeapProfiler.stopSampling').catch(() => {})
    await session.call('HeapProfiler.disable').catch(() => {})
  }
  return history
}

async function run(argv, { stdout = process.stdout } = {}) {
  const opts = options(argv)
  if (opts.help) {
    stdout.write(`${usage}\n`)
    return 0
  }
  let session
  try {
    session = await connect(opts.pid, { port: opts.port })
  } catch (error) {
    throw error instanceof AttachError ? inputError(error.message) : error
  }
  let history
  try {
    history = await sample(session, opts)
  } finally {
    await detach(session)
  }
  const report = buildReport({
    pid: opts.pid,
    lines: history.lines(),
    retained: null,
    sampling: { interval: history.interval, reads: history.reads },
  })
  stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : reportText(report))
  return 0
}

module.exports = { usage, run }
