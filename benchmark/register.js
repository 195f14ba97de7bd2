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

async function run(args) {
  const env = { ...process.env }
  for (const name of Object.keys(env)) if (name.startsWith('WEAK_TRACKER_')) delete env[name]
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

async function main() {
  const plain = []
  const registered = []
  for (let i = 0; i < pairs; i++) {
    plain.push(await run([]))
    registered.push(await run(['--require', register]))
  }
  const row = (name, runs) => {
    const rps = median(runs.map((r) => r.rps))
    const cpu = median(runs.map((r) => r.cpuPerRequestUs))
    const pause = Math.max(...runs.map((r) => r.maxPauseMs))
    return { name, rps, cpu, pause }
  }
  const a = row('without', plain)
  const b = row('--require weak-tracker/register', registered)
  console.log(`Express JSON API, autocannon 10 connections, ${seconds} s per run, ${pairs} runs each (ABAB), Node ${process.version}`)
  console.log('| app | requests/s (median) | server CPU per request µs (median) | longest event-loop pause ms |')
  console.log('|---|---|---|---|')
  for (const r of [a, b]) console.log(`| ${r.name} | ${fmt(r.rps)} | ${fmt(r.cpu, 1)} | ${fmt(r.pause, 1)} |`)
  console.log(`requests/s: ${fmt((b.rps / a.rps - 1) * 100, 1)}%, CPU per request: ${fmt((b.cpu / a.cpu - 1) * 100, 1)}%`)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
