'use strict'

// weak-tracker top FILE.heapsnapshot [--limit N] [--json]
//
// The objects that retain most in a heap snapshot (what would be freed if each went), each with the
// shortest path that keeps it alive, and the snapshot by class: count, own bytes and retained bytes
// (the Summary view of Chrome DevTools, as text). Names and sizes only, never the contents of
// strings from the snapshot.

const { usageError, parseCommandArgs } = require('./errors.js')
const fs = require('node:fs')
const { bytes, count } = require('../format.js')

const usage = 'usage: weak-tracker top FILE.heapsnapshot [--limit N] [--json]'


// `1,234`
// A retainer path on one line: `global ─sessions→ Array ─[x]→ Session`.
// A node without a name (a Map's or a WeakMap's backing table) shows its type: `(array)`.
const nodeText = (step) => (step.node === '' ? `(${step.nodeType})` : step.node)

function pathLine(steps) {
  if (steps.length === 0) return '(no path from a root)'
  const parts = [nodeText(steps[0])]
  for (const step of steps.slice(1)) parts.push(`─${step.edge}→ ${nodeText(step)}`)
  return parts.join(' ')
}

function pad(text, width, right = false) {
  return right ? text.padStart(width) : text.padEnd(width)
}

// Options from argv; throws a usage error.
function parseOptions(argv, { files }) {
  const { values, positionals } = parseCommandArgs(argv, {
    limit: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help) return { help: true }
  if (!files(positionals.length)) throw usageError('wrong number of files')
  const limit = values.limit === undefined ? 20 : Number(values.limit)
  if (!/^\d+$/.test(values.limit ?? '20') || !Number.isSafeInteger(limit) || limit < 1 || limit > 2 ** 32 - 1) {
    throw usageError(`--limit must be an integer >= 1, not ${JSON.stringify(values.limit)}`)
  }
  return { files: positionals, limit, json: values.json === true }
}

// Checks that each file is a readable file: the message for the first that is not, or null.
function unreadable(files) {
  for (const file of files) {
    try {
      if (!fs.statSync(file).isFile()) return `${file} is not a file`
    } catch (error) {
      return `cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`
    }
  }
  return null
}

// Runs a command body: prints usage errors (exit 2) and bad input (exit 1) as one line on stderr.
// Returns the exit code and sets process.exitCode to it.
function runCommand(usageText, argv, filesOk, body, { stdout = process.stdout, stderr = process.stderr } = {}) {
  const finish = (code, message) => {
    if (message) stderr.write(`weak-tracker: ${message}\n`)
    process.exitCode = code
    return code
  }
  let options
  try {
    options = parseOptions(argv, { files: filesOk })
  } catch (error) {
    return finish(2, `${error.message}\n${usageText}`)
  }
  if (options.help) {
    stdout.write(`${usageText}\n`)
    return finish(0)
  }
  const bad = unreadable(options.files)
  if (bad) return finish(1, bad)
  let native
  try {
    native = require('../binding.js')
  } catch (error) {
    return finish(1, error.message.split('\n')[0])
  }
  let output
  try {
    output = body(native, options)
  } catch (error) {
    return finish(1, error.message.split('\n')[0])
  }
  stdout.write(output)
  return finish(0)
}

function topText(report, limit) {
  const lines = [
    `${count(report.nodeCount)} nodes, ${count(report.edgeCount)} edges: ${bytes(report.totalSize)} in all, ` +
      `${bytes(report.reachableSize)} in ${count(report.reachableCount)} nodes reachable from the roots.`,
    '',
    'Largest retainers (retained bytes: what would be freed if the object went)',
  ]
  report.retainers.forEach((r, i) => {
    const what = r.location ? `${r.name} ${r.location}` : r.name
    lines.push(
      `${pad(`${i + 1}.`, 4, true)} ${pad(bytes(r.retainedSize), 10, true)} ${pad(count(r.retainedCount), 10, true)} objects  ${what} (${r.nodeType}, id @${r.id})`,
      `${' '.repeat(27)}${pathLine(r.path)}`,
    )
  })
  const classes = report.classes.slice(0, limit)
  const width = Math.max(5, ...classes.map((c) => c.name.length))
  lines.push(
    '',
    `Summary by class (${count(report.classes.length)} classes, largest ${classes.length} by retained bytes)`,
    `${pad('Class', width)}  ${pad('Count', 10, true)}  ${pad('Shallow', 10, true)}  ${pad('Retained', 10, true)}`,
  )
  for (const c of classes) {
    lines.push(`${pad(c.name, width)}  ${pad(count(c.count), 10, true)}  ${pad(bytes(c.shallowSize), 10, true)}  ${pad(bytes(c.retainedSize), 10, true)}`)
  }
  return `${lines.join('\n')}\n`
}

function run(argv, streams) {
  return runCommand(usage, argv, (n) => n === 1, (native, { files, limit, json }) => {
    const report = JSON.parse(native.heapTop(files[0], limit))
    return json ? `${JSON.stringify({ file: files[0], ...report }, null, 2)}\n` : topText(report, limit)
  }, streams)
}

module.exports = { usage, run, pathLine, runCommand }
