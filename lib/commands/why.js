'use strict'

// weak-tracker why FILE.heapsnapshot --class NAME [--limit N] [--json]
// weak-tracker why FILE.heapsnapshot --node-id ID [--json]
//
// Explains what keeps the objects of class NAME (or the one node ID) alive in a heap snapshot written by anyone
// (node --heapsnapshot-signal, --heapsnapshot-near-heap-limit, DevTools, v8.writeHeapSnapshot()):
// their shortest retainer paths, grouped by shape. Prints class, variable and property names,
// never the contents of strings or numbers from the snapshot.

const fs = require('node:fs')
const { inputError, usageError, parseCommandArgs } = require('./errors.js')

const usage = `usage: weak-tracker why FILE.heapsnapshot --class NAME [--limit N] [--json]
       weak-tracker why FILE.heapsnapshot --node-id ID [--json]

Explains what keeps the objects of class NAME alive in a V8 heap snapshot: their shortest
retainer paths from a GC root, grouped by shape, with what each holder retains. A chain of
like links (a linked list, promise reactions, a timer list) is one line with its count.

  --class NAME    the class (constructor name) of the objects to explain; when no object
                  has it, the functions of that name (such as the debug package's instances)
  --limit N       explain at most N of them, those with the shortest paths (default 20)
  --node-id ID    explain the one node with this id (as DevTools shows it: @ID)
  --json          print JSON for programs instead of text`

function parse(argv) {
  const { values, positionals } = parseCommandArgs(argv, {
    class: { type: 'string' },
    limit: { type: 'string' },
    'node-id': { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help) return { help: true }
  if (positionals.length !== 1) throw usageError('why takes one snapshot file')
  const nodeId = values['node-id']
  if (nodeId !== undefined) {
    const id = nodeId.trim() === '' ? NaN : Number(nodeId.replace(/^@/, ''))
    if (values.class !== undefined || values.limit !== undefined) throw usageError('--node-id takes neither --class nor --limit')
    if (!Number.isInteger(id) || id < 0 || id > 2 ** 32 - 1) {
      throw usageError(`--node-id must be a node id (an integer >= 0), not ${JSON.stringify(nodeId)}`)
    }
    return { file: positionals[0], nodeId: id, json: values.json === true }
  }
  if (!values.class) throw usageError('--class NAME is required (or --node-id ID)')
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
  const { file, className, limit, nodeId, json } = options
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
    const heap = native.heapReadFile(file)
    report = JSON.parse(nodeId === undefined ? native.heapExplainClass(heap, className, limit) : native.heapExplainNode(heap, nodeId))
  } catch (error) {
    throw inputError(`${file}: ${error.message.split('\n')[0]}`)
  }
  if (nodeId !== undefined && !report.found) throw inputError(`${file}: no node with id ${nodeId}`)
  const what = nodeId === undefined ? `of class ${className}` : `@${nodeId}`
  const result = {
    ...(nodeId === undefined ? { class: className } : { nodeId, name: report.name, nodeType: report.nodeType }),
    live: report.live,
    explained: report.explained,
    paths: report.paths.map((path) => ({
      ...path,
      text: why.pathText(path, nodeId === undefined ? `${why.objects(path.count)} ${what}` : `${report.name} @${nodeId}`),
    })),
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    return 0
  }
  const lines =
    nodeId === undefined
      ? [`${why.objects(result.live)} ${what} reachable; ${result.explained} explained.`]
      : [result.live === 1 ? `${report.name} @${nodeId} is reachable.` : `${report.name} @${nodeId} is not reachable from a GC root.`]
  for (const path of result.paths) lines.push('', path.text)
  process.stdout.write(`${lines.join('\n')}\n`)
  return 0
}

module.exports = { usage, run }
