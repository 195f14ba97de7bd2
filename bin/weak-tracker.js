#!/usr/bin/env node
'use strict'

// weak-tracker why FILE.heapsnapshot --class NAME [--limit N] [--json]
//
// Explains what keeps the objects of class NAME alive in a heap snapshot written by anyone
// (node --heapsnapshot-signal, --heapsnapshot-near-heap-limit, DevTools, v8.writeHeapSnapshot()):
// their shortest retainer paths, grouped by shape. Prints class, variable and property names,
// never the contents of strings or numbers from the snapshot.

const { parseArgs } = require('node:util')
const fs = require('node:fs')

const USAGE = 'usage: weak-tracker why FILE.heapsnapshot --class NAME [--limit N] [--json]'

function fail(message, code = 1) {
  process.stderr.write(`weak-tracker: ${message}\n`)
  process.exit(code)
}

function main(argv) {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { class: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    })
  } catch (error) {
    fail(`${error.message}\n${USAGE}`, 2)
  }
  const { values, positionals } = parsed
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  if (positionals[0] !== 'why' || positionals.length !== 2) fail(USAGE, 2)
  if (!values.class) fail(`--class NAME is required\n${USAGE}`, 2)
  const limit = values.limit === undefined ? 20 : Number(values.limit)
  if (!Number.isInteger(limit) || limit < 1) fail(`--limit must be an integer >= 1, not ${JSON.stringify(values.limit)}`, 2)
  const file = positionals[1]
  try {
    if (!fs.statSync(file).isFile()) fail(`${file} is not a file`)
  } catch (error) {
    fail(`cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`)
  }

  let native
  let why
  try {
    native = require('../lib/binding.js')
    why = require('../lib/why.js')
  } catch (error) {
    fail(error.message.split('\n')[0])
  }
  let report
  try {
    report = JSON.parse(native.heapExplainClass(native.heapReadFile(file), values.class, limit))
  } catch (error) {
    fail(`${file}: ${error.message.split('\n')[0]}`)
  }
  const result = {
    class: values.class,
    live: report.live,
    explained: report.explained,
    paths: report.paths.map((path) => ({
      ...path,
      text: why.pathText(path, `${why.objects(path.count)} of class ${values.class}`),
    })),
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    return
  }
  const lines = [`${why.objects(result.live)} of class ${values.class} reachable; ${result.explained} explained.`]
  for (const path of result.paths) lines.push('', path.text)
  process.stdout.write(`${lines.join('\n')}\n`)
}

main(process.argv.slice(2))
