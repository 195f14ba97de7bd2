'use strict'

// One way for the benchmarks to time a process: `node ARGS` with benchmark/max-rss.js preloaded
// (its peak RSS at exit), wall seconds, and, where GNU time is installed and `cpu` is asked, the
// CPU seconds (user + system), which a machine shared with others disturbs less than the wall.
// Returns { seconds, cpu, rss, status, signal, stdout, stderr }; rss and cpu are NaN when unknown.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const gnuTime = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null

function measure(args, { preload = true, cpu: withCpu = false, timeout = 30 * 60_000 } = {}) {
  const base = path.join(os.tmpdir(), `weak-tracker-bench-${process.pid}`)
  const rssFile = `${base}-rss.json`
  const cpuFile = `${base}-cpu.txt`
  const node = [process.execPath, ...(preload ? ['-r', path.join(__dirname, 'max-rss.js')] : []), ...args]
  const timed = withCpu && gnuTime !== null
  const [command, ...rest] = timed ? [gnuTime, '-f', '%U %S', '-o', cpuFile, ...node] : node
  const started = process.hrtime.bigint()
  const out = spawnSync(command, rest, {
    env: { ...process.env, WEAK_TRACKER_MAX_RSS_FILE: rssFile },
    encoding: 'utf8',
    maxBuffer: 2 ** 28,
    timeout,
  })
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  let rss = NaN
  let cpu = NaN
  try {
    rss = JSON.parse(fs.readFileSync(rssFile, 'utf8')).maxRssBytes
    fs.rmSync(rssFile)
  } catch {}
  try {
    if (timed) {
      cpu = fs.readFileSync(cpuFile, 'utf8').trim().split('\n').pop().split(' ').map(Number).reduce((a, b) => a + b, 0)
      fs.rmSync(cpuFile)
    }
  } catch {}
  return { seconds, cpu, rss, status: out.status, signal: out.signal, stdout: out.stdout, stderr: out.stderr }
}

module.exports = { measure, gnuTime }
