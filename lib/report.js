'use strict'

// The zero-code report: growing lines (from the sampling profiler) and objects that outlived their
// end (from the watchers), most suspect first, as JSON for programs and text for people. Shared by
// `weak-tracker/register` and `weak-tracker attach`. It holds origins (code positions), routes
// with their ids collapsed, class names and counts: never the contents of the app's strings.

const { version } = require('../package.json')
const { bytes } = require('./format.js')

const MAX_LINES = 20

// `lines`: [{ origin, library, liveBytes, growth, growing, thread? }], sorted; `retained`:
// [{ key, origin, count, oldestMs, why? }].
function buildReport({ pid, lines, retained, sampling }) {
  return {
    version,
    pid,
    time: new Date().toISOString(),
    sampling,
    lines: lines.slice(0, MAX_LINES),
    // null where nothing watched (attach): absent, rather than an empty list that says "nothing".
    ...(retained === null
      ? {}
      : {
          retained: retained.map(({ key, origin, count, oldestMs, why }) => ({
            kind: key,
            route: origin,
            count,
            oldestMs,
            ...(why === undefined ? {} : { why }),
          })),
        }),
  }
}

function reportText(report) {
  const out = [`weak-tracker report: pid ${report.pid}, ${report.time}`]
  const growing = report.lines.filter((l) => l.growing)
  out.push('', growing.length > 0 ? 'Growing lines (live sampled bytes):' : 'No line is growing. Largest live lines:')
  const shown = growing.length > 0 ? growing : report.lines.slice(0, 5)
  if (shown.length === 0) out.push('  (no sample yet)')
  for (const line of shown) {
    const thread = line.thread > 0 ? ` [thread ${line.thread}]` : ''
    const lib = line.library && !line.origin.startsWith('(') ? ' (library)' : ''
    out.push(`  ${bytes(line.liveBytes).padStart(10)}  ${line.growth >= 0 ? '+' : ''}${bytes(line.growth).padEnd(10)} ${line.origin}${lib}${thread}`)
  }
  if (report.retained === undefined) return `${out.join('\n')}\n`
  out.push('', report.retained.length > 0 ? 'Outlived their end (should be garbage):' : 'Nothing outlived its end.')
  for (const r of report.retained) {
    out.push(`  ${String(r.count).padStart(6)} ${r.kind} ${r.route} (oldest ${Math.round(r.oldestMs / 1000)} s)`)
    if (r.why !== undefined) out.push(...r.why.split('\n').map((l) => `      ${l}`))
  }
  return `${out.join('\n')}\n`
}

module.exports = { buildReport, reportText }
