'use strict'

// One view of the process: processRefs() across worker threads, metrics() in the OpenMetrics
// format (checked by the reference parser), prom-client, sampling, and a real scrape.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const http = require('node:http')
const { spawnSync } = require('node:child_process')
const weakTracker = require('..')
const { WeakTracker, processRefs, metrics, metricsContentType } = weakTracker
const { trackHeld, collectUntil } = require('./helpers.js')

const pkg = path.join(__dirname, '..')
const workers = path.join(__dirname, 'fixtures/process-workers.js')

function run(args) {
  const out = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 120_000 })
  assert.equal(out.signal, null, out.stderr)
  assert.equal(out.status, 0, out.stderr)
  return JSON.parse(out.stdout)
}

// The reference OpenMetrics parser (Python's prometheus_client), when it is importable already:
// the suite installs nothing. Returns a reason to skip when it is not.
function openMetricsParser() {
  const python = ['python3', 'python'].find((p) => spawnSync(p, ['--version']).status === 0)
  if (python === undefined) return 'no Python here to run the reference OpenMetrics parser'
  if (spawnSync(python, ['-c', 'import prometheus_client']).status !== 0) {
    return `the reference OpenMetrics parser (Python's prometheus_client) is not importable by ${python}`
  }
  return (text) => {
    const out = spawnSync(python, [path.join(__dirname, 'fixtures/parse-openmetrics.py')], { input: text, encoding: 'utf8' })
    assert.equal(out.status, 0, `not valid OpenMetrics:\n${out.stderr}\n${text}`)
    return JSON.parse(out.stdout)
  }
}

// The series of a text exposition: `name{labels}` of each sample line, as written.
function seriesOf(text) {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.slice(0, line.lastIndexOf(' ')))
}

test('processRefs() merges the counts of the main thread and eight workers, and drops workers that end', () => {
  const { during, after, kept } = run([workers, pkg, 'settle'])
  assert.equal(kept, 1)
  assert.equal(during.main._total, 1)
  assert.equal(during.job._total, 10 + 20 + 30 + 40 + 50 + 60 + 70 + 80)
  const jobOrigins = Object.keys(during.job).filter((k) => k !== '_total')
  assert.equal(jobOrigins.length, 1)
  assert.match(jobOrigins[0], /^at keep \(.*process-workers\.js:\d+:\d+\)$/)
  assert.deepEqual(Object.keys(after), ['main'], 'the workers ended: only the main thread is left')
})

test('once track() has returned in a worker, processRefs() and metrics() in the main thread count the object, before the turn of that worker ends', () => {
  const { seen, text } = run([workers, pkg, 'blocked'])
  assert.equal(seen.job._total, 5 + 6 + 7 + 8)
  assert.equal(seen.main._total, 1)
  const live = [...text.matchAll(/^weak_tracker_live\{key="job",origin="[^"]*",thread="\d+"\} (\d+)$/gm)].map((m) => Number(m[1]))
  assert.deepEqual(live.sort(), [5, 6, 7, 8])
})

test('once track() has returned in the main thread, a worker reading while the main thread is blocked counts the object', () => {
  const { Worker } = require('node:worker_threads')
  const wt = WeakTracker()
  const held = trackHeld(wt, 'blocked-main', 3)
  const flag = new Int32Array(new SharedArrayBuffer(8))
  const worker = new Worker(
    `const { processRefs, metrics } = require(${JSON.stringify(pkg)})
     const { workerData: flag } = require('node:worker_threads')
     const refs = processRefs()
     const text = metrics()
     Atomics.store(flag, 1, (refs['blocked-main']?._total ?? -1) * 10 + (/^weak_tracker_live\{key="blocked-main",[^}]*\} 3$/m.test(text) ? 1 : 0))
     Atomics.store(flag, 0, 1)
     Atomics.notify(flag, 0)`,
    { eval: true, workerData: flag },
  )
  // This turn does not end until the worker has read.
  assert.equal(Atomics.wait(flag, 0, 0, 60_000), 'ok')
  assert.equal(Atomics.load(flag, 1), 31, 'the worker saw 3 objects in processRefs() and in metrics()')
  assert.equal(held.length, 3)
  return worker.terminate()
})

test('eight workers tracking and ending while the main thread reads in a loop: no crash, and the totals add up', () => {
  const { calls, final, kept } = run([workers, pkg, 'churn'])
  assert.ok(calls > 10, `${calls} reads`)
  assert.deepEqual(final, { main: final.main })
  assert.equal(final.main._total, kept)
})

test('metrics() is OpenMetrics that the reference parser reads, with escaped labels and per-thread counters', async (t) => {
  const parse = openMetricsParser()
  if (typeof parse === 'string') return t.skip(parse)
  const wt = WeakTracker()
  const key = 'quote " backslash \\ newline \n end'
  const held = trackHeld(wt, key, 3)
  ;(function garbage() {
    for (let i = 0; i < 2; i++) wt.track(key, {})
  })()
  await collectUntil(() => wt.refs[key]._total === 3)
  const text = metrics()
  assert.ok(text.endsWith('# EOF\n'))
  assert.equal(metricsContentType, 'application/openmetrics-text; version=1.0.0; charset=utf-8')
  const samples = parse(text)
  const mine = samples.filter((s) => s[1].key === key)
  const live = mine.find((s) => s[0] === 'weak_tracker_live')
  assert.equal(live[2], 3)
  assert.equal(live[1].thread, '0')
  assert.match(live[1].origin, /^at trackHeld \(.*helpers\.js:\d+:\d+\)$/)
  assert.equal(mine.find((s) => s[0] === 'weak_tracker_tracked_total')[2], 5)
  assert.equal(mine.find((s) => s[0] === 'weak_tracker_collected_total')[2], 2)
  assert.equal(mine.find((s) => s[0] === 'weak_tracker_tracked_total')[3], 'counter')
  assert.ok(samples.some((s) => s[0] === 'weak_tracker_sample_ratio' && s[2] === 1))
  assert.equal(held.length, 3)
})

test('processRefs() keeps keys that differ only in lone surrogates apart, and metrics() stays valid UTF-8', () => {
  const wt = WeakTracker()
  const held = [...trackHeld(wt, '\uD83C', 1), ...trackHeld(wt, '\uDF89', 2)]
  const refs = processRefs()
  assert.equal(refs['\uD83C']._total, 1)
  assert.equal(refs['\uDF89']._total, 2)
  assert.ok(Buffer.from(metrics(), 'utf8').toString('utf8').includes('weak_tracker_live{key="\uFFFD"'))
  assert.equal(held.length, 3)
})

test('keys that differ only in a lone surrogate are one series in metrics() and in prom-client, with their sum', async () => {
  const client = require('prom-client')
  const registry = new client.Registry()
  require('weak-tracker/prometheus').register(registry)
  const wt = WeakTracker()
  const held = [...trackHeld(wt, 'x\uD800', 1), ...trackHeld(wt, 'x\uFFFD', 1)]
  const texts = { metrics: metrics(), 'prom-client': await registry.metrics() }
  for (const [writer, text] of Object.entries(texts)) {
    const series = seriesOf(text)
    assert.deepEqual(series, [...new Set(series)], `${writer}: every series once`)
    const mine = text.split('\n').filter((line) => line.includes('key="x\uFFFD"'))
    assert.equal(mine.filter((line) => line.startsWith('weak_tracker_live{')).length, 1, writer)
    assert.match(mine.find((line) => line.startsWith('weak_tracker_live{')), / 2$/, writer)
    assert.match(mine.find((line) => line.startsWith('weak_tracker_tracked_total{')), / 2$/, writer)
  }
  assert.equal(held.length, 2)
})

test('the reference parser reads keys that differ only in a lone surrogate as one series with their sum', (t) => {
  const parse = openMetricsParser()
  if (typeof parse === 'string') return t.skip(parse)
  const wt = WeakTracker()
  const held = [...trackHeld(wt, 'y\uDFFF', 2), ...trackHeld(wt, 'y\uFFFD', 1)]
  const live = parse(metrics()).filter((s) => s[0] === 'weak_tracker_live' && s[1].key === 'y\uFFFD')
  assert.deepEqual(live.map((s) => s[2]), [3])
  assert.equal(held.length, 3)
})

test('trackers made and dropped over time reuse their tracker label: its values stay bounded', async () => {
  const { Worker } = require('node:worker_threads')
  // A thread of its own, so that no other test's tracker is in it.
  const seen = await new Promise((resolve, reject) => {
    const worker = new Worker(
      `const { WeakTracker, metrics } = require(${JSON.stringify(pkg)})
       const { parentPort, threadId } = require('node:worker_threads')
       const labels = () => [...metrics().matchAll(new RegExp('^weak_tracker_sample_ratio\\{thread="' + threadId + '",tracker="([^"]*)"\\}', 'gm'))].map((m) => m[1])
       function make(i) {
         const wt = WeakTracker({ sample: 1 / (i + 1) })
         wt.track('k', {})
         return labels()
       }
       ;(async () => {
         const seen = new Set()
         for (let i = 0; i < 20; i++) {
           for (const label of make(i)) seen.add(label)
           // metrics() keeps this thread's trackers alive until the end of the job it runs in
           // (WeakRef#deref): collect in a later job than the one that reads.
           for (let round = 0; round < 50; round++) {
             await new Promise(setImmediate)
             global.gc()
             await new Promise(setImmediate)
             if (labels().length === 0) break
           }
         }
         parentPort.postMessage([...seen])
       })()`,
      { eval: true },
    )
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  assert.deepEqual(seen, ['0'])
})

test('prom-client: register() adds the metrics to a registry, computed at scrape time', async () => {
  const client = require('prom-client')
  const registry = new client.Registry()
  require('weak-tracker/prometheus').register(registry)
  const wt = WeakTracker()
  const held = trackHeld(wt, 'prom', 4)
  const text = await registry.metrics()
  assert.match(text, /^weak_tracker_live\{key="prom",origin="at trackHeld \(.*helpers\.js:\d+:\d+\)",thread="0"\} 4$/m)
  assert.match(text, /^weak_tracker_tracked_total\{key="prom",thread="0"\} 4$/m)
  assert.match(text, /^# TYPE weak_tracker_collected_total counter$/m)
  assert.match(text, /^weak_tracker_sample_ratio\{thread="0",tracker="\d+"\} 1$/m)
  held.length = 0
  await collectUntil(() => wt.refs.prom === undefined)
  assert.doesNotMatch(await registry.metrics(), /^weak_tracker_live\{key="prom"/m, 'scraped again: the objects are gone')
  assert.throws(() => require('weak-tracker/prometheus').register({}), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('with sample: 0.1, about a tenth of 100k track() calls are recorded, and only those count', async () => {
  const wt = WeakTracker({ sample: 0.1 })
  let refs = 0
  wt.on('ref', () => refs++)
  const kept = []
  ;(function many() {
    for (let i = 0; i < 100_000; i++) wt.track('sampled', (kept[i] = {}))
  })()
  // Binomial(100k, 0.1): standard deviation 95; six of them either way.
  assert.ok(Math.abs(refs - 10_000) < 570, `${refs} recorded`)
  assert.equal(wt.refs.sampled._total, refs)
  assert.match(metrics(), new RegExp(`^weak_tracker_sample_ratio\\{thread="0",tracker="\\d+"\\} 0\\.1$`, 'm'))
  assert.equal(kept.length, 100_000)
})

test('bad tracker options are refused in Node form', () => {
  const cases = [
    [5, TypeError, 'ERR_INVALID_ARG_TYPE', 'The "options" argument must be of type object. Received type number (5)'],
    [{ sample: '0.5' }, TypeError, 'ERR_INVALID_ARG_TYPE', `The "options.sample" property must be of type number. Received type string ('0.5')`],
    [{ sample: 0 }, RangeError, 'ERR_OUT_OF_RANGE', 'The value of "options.sample" is out of range. It must be > 0 and <= 1. Received 0'],
    [{ sample: 1.5 }, RangeError, 'ERR_OUT_OF_RANGE', 'The value of "options.sample" is out of range. It must be > 0 and <= 1. Received 1.5'],
    [{ sample: NaN }, RangeError, 'ERR_OUT_OF_RANGE', 'The value of "options.sample" is out of range. It must be > 0 and <= 1. Received NaN'],
  ]
  for (const [options, type, code, message] of cases) {
    assert.throws(() => WeakTracker(options), (error) => error instanceof type && error.code === code && error.message === message)
    assert.throws(() => new WeakTracker(options), { code })
  }
})

test('a Prometheus scrape of a running server returns the live counts of its leak, with node:http and with prom-client', async () => {
  // The README's example: a server that leaks, and /metrics beside it.
  const client = require('prom-client')
  const registry = new client.Registry()
  require('weak-tracker/prometheus').register(registry)
  const wt = weakTracker()
  const leaked = []
  const server = http.createServer(async (req, res) => {
    if (req.url === '/metrics') {
      res.setHeader('Content-Type', metricsContentType)
      return res.end(metrics())
    }
    if (req.url === '/prom') {
      res.setHeader('Content-Type', registry.contentType)
      return res.end(await registry.metrics())
    }
    const session = { url: req.url }
    wt.track('scrape-session', session)
    leaked.push(session)
    res.end('ok')
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  const get = (p) =>
    new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c) => (body += c))
        res.on('end', () => resolve({ type: res.headers['content-type'], body }))
      }).on('error', reject)
    })
  try {
    for (let i = 0; i < 6; i++) await get(`/login/${i}`)
    const scraped = await get('/metrics')
    assert.equal(scraped.type, metricsContentType)
    assert.match(scraped.body, /^weak_tracker_live\{key="scrape-session",origin="at Server\.<anonymous> \(.*process\.test\.js:\d+:\d+\)",thread="0"\} 6$/m)
    const prom = await get('/prom')
    assert.match(prom.body, /^weak_tracker_live\{key="scrape-session",origin="at Server\.<anonymous> \(.*process\.test\.js:\d+:\d+\)",thread="0"\} 6$/m)
  } finally {
    server.close()
    leaked.length = 0
  }
})

test('processRefs() and metrics() can be called from a worker thread, and see the main thread', async () => {
  const wt = WeakTracker()
  const held = trackHeld(wt, 'from-main', 2)
  const { Worker } = require('node:worker_threads')
  const seen = await new Promise((resolve, reject) => {
    const worker = new Worker(
      `const { processRefs, metrics } = require(${JSON.stringify(pkg)})
       const { parentPort } = require('node:worker_threads')
       parentPort.postMessage({ refs: processRefs(), text: metrics() })`,
      { eval: true },
    )
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  assert.equal(seen.refs['from-main']._total, 2)
  assert.match(seen.text, /^weak_tracker_live\{key="from-main",origin="[^"]+",thread="0"\} 2$/m)
  assert.equal(held.length, 2)
})
