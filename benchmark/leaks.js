'use strict'

// node benchmark/leaks.js [RUNS]
//
// The six real leaks of __test__/leaks/apps: three heap snapshots of each (at 200, 5,200 and
// 10,200 leaked items), then on the same three files `weak-tracker growth` and memlab 2.0.5's
// `memlab analyze unbound-object --snapshot-dir DIR`, each in its own process, RUNS times (default
// 3): the median wall time and the median peak RSS (process.resourceUsage().maxRSS at exit, through
// the max-rss.js preload), and whether the top three of growth name the leak's real holder.
// memlab runs only when installed under ~/.cache/weak-tracker/memlab
// (`npm install --prefix ~/.cache/weak-tracker/memlab memlab@2.0.5`). Prints a table.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { APPS, snapshots } = require('../__test__/leaks/driver.js')
const { HOLDERS, MARKS, naming } = require('../__test__/leaks/holders.js')
const { median, fmt } = require('./table.js')

const runs = Number(process.argv[2] ?? 3)
const root = path.join(__dirname, '..')
const bin = path.join(root, 'bin', 'weak-tracker.js')
const memlab = path.join(os.homedir(), '.cache/weak-tracker/memlab/node_modules/@memlab/cli/bin/memlab.js')

const { measure } = require('./measure.js')

function repeat(args) {
  const all = Array.from({ length: runs }, () => measure(args))
  const failed = all.find((m) => m.status !== 0)
  return {
    seconds: median(all.map((m) => m.seconds)),
    rss: median(all.map((m) => m.rss)),
    ok: failed === undefined,
    error: failed?.stderr.split('\n')[0],
    // memlab prints its answer on stderr.
    output: all[0].stdout + all[0].stderr,
  }
}

// memlab's first three lines of "Top growing objects", as `name [type]`.
function memlabTop(output) {
  return output
    .split('\n')
    .filter((line) => line.startsWith('· '))
    .slice(0, 3)
    .map((line) => line.slice(2).replace(/\(@\d+\):.*$/, '').trim())
}

const mib = (bytes) => `${fmt(bytes / 2 ** 20)} MiB`
const secs = (s) => `${fmt(s, 2)} s`

async function main() {
  const rows = []
  const tops = []
  for (const name of APPS) {
    const { dir, files } = await snapshots(name, MARKS)
    const growth = repeat([bin, 'growth', ...files, '--json', '--limit', '3'])
    const report = growth.ok ? JSON.parse(growth.output) : null
    const row = {
      app: name,
      snapshots: files.map((f) => fmt(fs.statSync(f).size / 2 ** 20, 1)).join(' / ') + ' MiB',
      growth: growth.ok ? secs(growth.seconds) : `failed: ${growth.error}`,
      'growth RSS': mib(growth.rss),
      'holder in top 3': report && naming(report, HOLDERS[name].holds).length > 0 ? 'yes' : 'no',
    }
    if (fs.existsSync(memlab)) {
      // memlab reads every snapshot of the directory, in name order.
      const only = fs.mkdtempSync(path.join(os.tmpdir(), 'weak-tracker-memlab-'))
      files.forEach((f, k) => fs.symlinkSync(f, path.join(only, `s${k + 1}.heapsnapshot`)))
      const m = repeat([memlab, 'analyze', 'unbound-object', '--snapshot-dir', only])
      fs.rmSync(only, { recursive: true, force: true })
      row.memlab = m.ok ? secs(m.seconds) : `failed: ${m.error}`
      row['memlab RSS'] = mib(m.rss)
      tops.push(`${name}: growth ${report ? report.unbound.map((u) => u.name).join(', ') : '-'} | memlab ${memlabTop(m.output).join(', ')}`)
    }
    rows.push(row)
    fs.rmSync(dir, { recursive: true, force: true })
  }
  console.log(`Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0].model}, median of ${runs} runs each\n`)
  console.table(rows)
  if (tops.length > 0) {
    console.log('\nTop three objects that grew at every step (growth unbound / memlab unbound-object):')
    for (const line of tops) console.log(`  ${line}`)
  }
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
