'use strict'

// Zero code on six leaks users hunted in real Node 20 apps (apps/): each app, unchanged, run with
// `--require weak-tracker/register` under load, and sampled by `weak-tracker attach` while it
// serves load. The line that leaks (or the library entry that holds the leak) must be among the
// top three growing lines in at least five apps of six.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { setTimeout: sleep } = require('node:timers/promises')
const { APPS, start, tempDir, freePort, weakTracker } = require('./driver.js')

const register = path.join(__dirname, '..', '..', 'register.js')

// The library each leak lives in, when it lives in one.
const LIBRARY = { session: 'express-session', debug: 'debug', lru: 'lru-cache' }

// Whether `origin` is the leak's: a function of the app that serves requests (not the module's
// body, which runs once), or the leaking library's entry.
function isLeak(name, origin) {
  const own = `${path.sep}apps${path.sep}${name}.js:`
  if (origin.includes(own)) return !origin.includes(`${own}1:1)`)
  const library = LIBRARY[name]
  return library !== undefined && origin.includes(`${path.sep}node_modules${path.sep}${library}${path.sep}`)
}

const where = (origin) => origin.replace(path.join(__dirname, '..', '..') + path.sep, '')
const shown = (lines) => lines.map((l) => `${l.growing ? 'growing' : 'steady'} ${l.growth} B: ${where(l.origin)}`).join('; ')

// The apps whose leak is among the top three growing lines, and a line per app saying what was.
function tally(results) {
  const found = []
  const text = []
  for (const [name, lines] of results) {
    const top = lines.slice(0, 3)
    if (top.some((l) => l.growing && isLeak(name, l.origin))) found.push(name)
    text.push(`${name}: ${shown(top)}`)
  }
  return { found, text }
}

test('register, with no change to the app, puts the leak among the top three growing lines in five apps of six or more', async (t) => {
  const dir = tempDir('weak-tracker-leaks-register-')
  const results = new Map()
  for (const name of APPS) {
    const file = path.join(dir, `${name}.json`)
    const app = await start(name, {
      nodeArgs: ['--require', register],
      env: {
        WEAK_TRACKER_REPORT: 'exit',
        WEAK_TRACKER_REPORT_FILE: file,
        WEAK_TRACKER_SAMPLING_PERIOD: '0.2',
        WEAK_TRACKER_SAMPLING_INTERVAL: '16384',
      },
    })
    // Rounds with a pause between them, so that the sampler reads in between.
    for (let round = 0; round < 6; round++) {
      await app.drive(800)
      await sleep(300)
    }
    const { code } = await app.stop()
    assert.equal(code, 0, `${name} exits as it would without register`)
    results.set(name, JSON.parse(fs.readFileSync(file, 'utf8')).lines)
  }
  const { found, text } = tally(results)
  for (const line of text) t.diagnostic(line)
  assert.ok(found.length >= 5, `the leak is among the top three growing lines of ${found.join(', ')} only:\n${text.join('\n')}`)
})

test('attach, on the same apps while they serve load, puts the leak among the top three growing lines in five apps of six or more', async (t) => {
  const results = new Map()
  for (const name of APPS) {
    const inspectPort = await freePort()
    const app = await start(name, { nodeArgs: [`--inspect-port=${inspectPort}`] })
    let serving = true
    const load = (async () => {
      while (serving) {
        await app.drive(200)
        await sleep(50)
      }
    })()
    const out = await weakTracker(['attach', String(app.pid), '--seconds', '3', '--port', String(inspectPort), '--interval', '16384', '--json'])
    serving = false
    await load
    const { code } = await app.stop()
    assert.equal(out.code, 0, `${name}: ${out.stderr}`)
    assert.equal(code, 0, `${name} goes on and exits as before`)
    results.set(name, JSON.parse(out.stdout).lines)
  }
  const { found, text } = tally(results)
  for (const line of text) t.diagnostic(line)
  assert.ok(found.length >= 5, `the leak is among the top three growing lines of ${found.join(', ')} only:\n${text.join('\n')}`)
})
