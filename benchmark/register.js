'use strict'

// What `node --require weak-tracker/register` costs a server: an Express app under autocannon, with
// and without it, in alternating runs (ABAB...), median of each. Reports requests per second, server
// CPU per request and the longest event-loop pause the app saw. The register runs with its defaults
// (sampling at 128 KiB, a read every 10 s or more, watchers on), over a run long enough for reads.
//
// node benchmark/register.js [pairs=3] [seconds=25]

const path = require('node:path')
const { spawn } = require('node:child_process')
const { once } = require('node:events')
const autocannon = require('autocannon')
const { median, fmt } = require('./table.js')

const pairs = Number(process.argv[2] ?? 3)
const seconds = Number(process.argv[3] ?? 25)
const app = path.join(__dirname, 'register-app.js')
const register = path.join(__dirname, '..', 'register.js')

async function run(args, extraEnv = {}) {
  const env = { ...process.env }
  for (const name of Object.keys(env)) if (name.startsWith('WEAK_TRACKER_')) delete env[name]
  Object.assign(env, extraEnv)
  const child = spawn(process.execPath, [...args, app], { env, stdio: ['pipe', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  while (!out.includes('\n')) await once(child.stdout, 'data')
  const { port } = JSON.parse(out.split('\n')[0])
  const url = `http://127.0.0.1:${port}/item/42`
  await autocannon({ url, connections: 10, duration: 2 }) // warm-up
  child.stdin.write('start\n')
  const result = await autocannon({ url, connections: 10, duration: seconds })
  child.stdin.write('stop\n')
  await once(child, 'exit')
  const stats = JSON.parse(out.split('\n')[1])
  return { rps: result.requests.average, cpuPerRequestUs: stats.cpuUs / result.requests.total, maxPauseMs: stats.maxPauseMs }
}

// The app alone, then with the register whole, then with parts of it off: what each part costs.
const CONFIGS = [
  { name: 'without', args: [] },
  { name: '--require weak-tracker/register', args: ['--require', register] },
  { name: 'register, watchers off (sampling only)', args: ['--require', register], env: { WEAK_TRACKER_WATCH: '0' } },
  ...(process.env.BENCH_EXTRA ? [{ name: `register, ${process.env.BENCH_EXTRA}`, args: ['--require', register], env: Object.fromEntries([process.env.BENCH_EXTRA.split('=')]) }] : []),
]

async function main() {
  const runs = CONFIGS.map(() => [])
  for (let i = 0; i < pairs; i++) {
    for (const [k, config] of CONFIGS.entries()) runs[k].push(await run(config.args, config.env))
  }
  const rows = CONFIGS.map((config, k) => ({
    name: config.name,
    rps: median(runs[k].map((r) => r.rps)),
    cpu: median(runs[k].map((r) => r.cpuPerRequestUs)),
    pause: Math.max(...runs[k].map((r) => r.maxPauseMs)),
  }))
  console.log(`Express JSON API, autocannon 10 connections, ${seconds} s per run, ${pairs} runs each (interleaved), Node ${process.version}`)
  console.log('| app | requests/s (median) | server CPU per request µs (median) | longest event-loop pause ms |')
  console.log('|---|---|---|---|')
  for (const r of rows) console.log(`| ${r.name} | ${fmt(r.rps)} | ${fmt(r.cpu, 1)} | ${fmt(r.pause, 1)} |`)
  const [base, ...others] = rows
  for (const r of others) {
    console.log(`${r.name}: requests/s ${fmt((r.rps / base.rps - 1) * 100, 1)}%, CPU per request ${fmt((r.cpu / base.cpu - 1) * 100, 1)}%`)
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
