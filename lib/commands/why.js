'use strict'

// weak-tracker why FILE.heapsnapshot --class NAME [--limit N] [--json]
//
// Explains what keeps the objects of class NAME alive in a heap snapshot written by anyone
// (node --heapsnapshot-signal, --heapsnapshot-near-heap-limit, DevTools, v8.writeHeapSnapshot()):
// their shortest retainer paths, grouped by shape. Prints class, variable and property names,
// never the contents of strings or numbers from the snapshot.

const { parseArgs } = require('node:util')
const fs = require('node:fs')
const { inputError, usageError } = require('./errors.js')

const usage = `usage: weak-tracker why FILE.heapsnapshot --class NAME [--limit N] [--json]

Explains what keeps the objects of class NAME alive in a V8 heap snapshot: their shortest
retainer paths from a GC root, grouped by shape.

  --class NAME  the class (constructor name) of the objects to explain
  --limit N     explain at most N of them (default 20)
  --json        print JSON for programs instead of text`

function parse(argv) {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { class: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    })
  } catch (error) {
    throw usageError(error.message)
  }
  const { values, positionals } = parsed
  if (values.help) return { help: true }
  if (positionals.length !== 1) throw usageError('why takes one snapshot file')
  if (!values.class) throw usageError('--class NAME is required')
  const limit = values.limit === undefined ? 20 : Number(values.limit)
  if (values.limit?.trim() === '' || !Number.isInteger(limit) || limit < 1) {
    throw usageError(`--limit must be an integer >= 1, not ${JSON.stringify(values.limit)}`)
  }
  return { file: positionals[0], className: values.class, limit, json: values.json === true }
}

function run(argv) {
  const options = parse(argv)
  if (options.help) {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  const { file, className, limit, json } = options
  let stat
  try {
    stat = fs.statSync(file)
  } catch (error) {
    throw inputError(`cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`)
  }
  if (!stat.isFile()) throw inputError(`${file} is not a file`)

  let native
  let why
  try {
    native = require('../binding.js')
    why = require('../why.js')
  } catch (error) {
    throw inputError(error.message.split('\n')[0])
  }
  let report
  try {
    report = JSON.parse(native.heapExplainClass(native.heapReadFile(file), className, limit))
  } catch (error) {
    throw inputError(`${file}: ${error.message.split('\n')[0]}`)
  }
  const result = {
    class: className,
    live: report.live,
    explained: report.explained,
    paths: report.paths.map((path) => ({
      ...path,
      text: why.pathText(path, `${why.objects(path.count)} of class ${className}`),
    })),
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    return 0
  }
  const lines = [`${why.objects(result.live)} of class ${className} reachable; ${result.explained} explained.`]
  for (const path of result.paths) lines.push('', path.text)
  process.stdout.write(`${lines.join('\n')}\n`)
  return 0
}

module.exports = { usage, run }
