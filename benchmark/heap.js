'use strict'

// node benchmark/heap.js [MIB] [--memlab]
//
// Times `weak-tracker top` on a generated snapshot of about MIB MiB (default 1024) and
// `weak-tracker growth` on it and a later one with 5% more sessions (benchmark/heap-generate.js,
// cached under ~/.cache/weak-tracker), each in its own process, with its peak RSS
// (process.resourceUsage().maxRSS at exit). With --memlab, and memlab installed under
// ~/.cache/weak-tracker/memlab (`PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix
// ~/.cache/weak-tracker/memlab memlab@2.0.5`), runs its `analyze object-size` and
// `analyze unbound-object` on the same files for comparison (it needs several times the file's
// size in memory). Prints a table.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { snapshotFile } = require('./heap-generate.js')

const root = path.join(__dirname, '..')
const args = process.argv.slice(2)
const withMemlab = args.includes('--memlab')
const mib = Number(args.find((a) => !a.startsWith('--')) ?? 1024)

const { measure } = require('./measure.js')

const command = (name, ...args) => ['-e', `require(${JSON.stringify(path.join(root, 'lib/commands', `${name}.js`))}).run(${JSON.stringify(args)})`]

const base = snapshotFile(mib)
const later = snapshotFile(mib, 5)
const size = fs.statSync(base).size
const rows = []
const row = (what, file, m) => rows.push({ what, file: `${(fs.statSync(file).size / 2 ** 20).toFixed(0)} MiB`, seconds: m.seconds.toFixed(1), peakRss: `${(m.rss / 2 ** 20).toFixed(0)} MiB`, ok: m.status === 0 ? 'yes' : `no (${m.signal ?? m.status}) ${m.stderr}` })

row('weak-tracker top --limit 20', base, measure(command('top', base, '--limit', '20')))
row('weak-tracker growth (2 files)', later, measure(command('growth', base, later, '--limit', '20')))

const memlab = path.join(os.homedir(), '.cache/weak-tracker/memlab/node_modules/memlab/bin/memlab')
if (withMemlab && fs.existsSync(memlab)) {
  const heap = ['--max-old-space-size=16384', memlab]
  row('memlab analyze object-size', base, measure([...heap, 'analyze', 'object-size', '--snapshot', base]))
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weak-tracker-memlab-'))
  fs.symlinkSync(base, path.join(dir, 's1.heapsnapshot'))
  fs.symlinkSync(later, path.join(dir, 's2.heapsnapshot'))
  row('memlab analyze unbound-object', later, measure([...heap, 'analyze', 'unbound-object', '--snapshot-dir', dir]))
  fs.rmSync(dir, { recursive: true, force: true })
}

console.log(`Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, snapshot of ${(size / 2 ** 20).toFixed(0)} MiB`)
console.table(rows)
