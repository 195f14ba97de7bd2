'use strict'

// weak-tracker growth BASE.heapsnapshot TARGET.heapsnapshot [MORE.heapsnapshot...] [--limit N] [--json]
//
// What grew across heap snapshots of one process, taken in that order (V8 keeps an object's id
// across the snapshots of a process): the objects of BASE whose retained bytes and retained object
// count grew at every step (the holders), and the objects created after BASE that are still alive,
// grouped by class and the shape of the path that keeps them, each group with its count in every
// snapshot. Names and sizes only, never the contents of strings from the snapshots.

const { bytes, count } = require('../format.js')
const { pathLine, runCommand } = require('./top.js')

const usage = 'usage: weak-tracker growth BASE.heapsnapshot TARGET.heapsnapshot [MORE...] [--limit N] [--json]'

function growthText(report) {
  const lines = [`${report.snapshots} snapshots compared, in the order given.`, '']
  if (report.unbound.length === 0) {
    lines.push('No object of the first snapshot grew at every step.')
  } else {
    lines.push('Objects that grew at every step (retained bytes; objects they retain)')
    report.unbound.forEach((u, i) => {
      lines.push(
        `${`${i + 1}.`.padStart(4)} ${u.name} (${u.nodeType}, id @${u.id}): ${u.retainedSizes.map(bytes).join(' → ')}; ${u.retainedCounts.map(count).join(' → ')} objects`,
        `     ${pathLine(u.path)}`,
      )
    })
  }
  lines.push('')
  if (report.newObjects.length === 0) {
    lines.push('No object created after the first snapshot is alive in the last.')
  } else {
    lines.push('Objects created after the first snapshot and alive in the last, by class and path')
    report.newObjects.forEach((g, i) => {
      lines.push(
        `${`${i + 1}.`.padStart(4)} ${g.class}: ${g.counts.map(count).join(' → ')}${g.growing ? ' (grew at every step)' : ''}; ` +
          `${bytes(g.retainedSize)} retained, ${bytes(g.shallowSize)} own`,
        `     ${pathLine(g.path)}`,
      )
    })
  }
  return `${lines.join('\n')}\n`
}

function run(argv, streams) {
  return runCommand(usage, argv, (n) => n >= 2, (native, { files, limit, json }) => {
    const report = JSON.parse(native.heapGrowth(files, limit))
    return json ? `${JSON.stringify({ files, ...report }, null, 2)}\n` : growthText(report)
  }, streams)
}

module.exports = { usage, run, growthText }
