'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { EventEmitter } = require('node:events')
const { execFileSync } = require('node:child_process')
const { WeakTracker } = require('..')
const fakeLib = require('./fixtures/node_modules/fake-lib')
const { origins } = require('./helpers.js')

const kept = []

// The single origin recorded under `key` by `fn(tracker, obj)`, and the line `fn` reported.
function originOf(fn) {
  const wt = WeakTracker()
  const obj = {}
  kept.push(obj)
  const line = fn(wt, obj)
  const found = Object.keys(origins(wt.refs, 'k'))
  assert.equal(found.length, 1)
  return { origin: found[0], line }
}

// The line number of the caller of this function.
function lineHere() {
  const holder = {}
  Error.captureStackTrace(holder, lineHere)
  return Number(holder.stack.split('\n')[1].match(/:(\d+):\d+\)?$/)[1])
}

const escaped = __filename.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

test('the origin is the trimmed stack line of the function that called track', () => {
  function makeWidget(wt, obj) {
    wt.track('k', obj); return lineHere()
  }
  const { origin, line } = originOf(makeWidget)
  assert.match(origin, new RegExp(`^at makeWidget \\(${escaped}:${line}:\\d+\\)$`))
})

test('the origin is the same text as the line in new Error().stack', () => {
  let expected
  function sameLine(wt, obj) {
    wt.track('k', obj); expected = new Error().stack.split('\n')[1].trim()
  }
  const { origin } = originOf(sameLine)
  assert.equal(origin.replace(/:\d+\)$/, ''), expected.replace(/:\d+\)$/, ''))
})

test('a method call names the class, as in at Server.requestHandler', () => {
  class Server {
    requestHandler(wt, obj) {
      wt.track('k', obj)
    }
  }
  const { origin } = originOf((wt, obj) => new Server().requestHandler(wt, obj))
  assert.match(origin, /^at Server\.requestHandler \(/)
})

test('frames inside node_modules are skipped to the app frame that called the library', () => {
  function appCode(wt, obj) {
    fakeLib.trackFor(wt, 'k', obj); return lineHere()
  }
  const { origin, line } = originOf(appCode)
  assert.match(origin, new RegExp(`^at appCode \\(${escaped}:${line}:\\d+\\)$`))
})

test('the app frame is found beneath more library frames than the first capture holds', () => {
  function deepApp(wt, obj) {
    fakeLib.callThrough(12, () => fakeLib.trackFor(wt, 'k', obj)); return lineHere()
  }
  const { origin, line } = originOf(deepApp)
  assert.match(origin, new RegExp(`^at ${escaped}:${line}:\\d+$|^at .*\\(${escaped}:${line}:\\d+\\)$`))
})

test('when every frame is inside node_modules the outermost library frame is the origin', () => {
  const script = path.join(__dirname, 'fixtures/node_modules/fake-lib/all-library.js')
  const out = JSON.parse(execFileSync(process.execPath, [script, path.join(__dirname, '..')]))
  assert.equal(out.length, 2)
  assert.equal(out[0], '_total')
  assert.match(out[1], /^at .*node_modules[/\\]fake-lib[/\\]all-library\.js:7:\d+\)?$/)
})

test("Node's own frames are skipped: an emitter calling track directly names the app's emit", () => {
  function emitIt(wt, obj) {
    const emitter = new EventEmitter()
    emitter.on('thing', wt.track.bind(wt, 'k'))
    emitter.emit('thing', obj); return lineHere()
  }
  const { origin, line } = originOf(emitIt)
  assert.match(origin, new RegExp(`^at emitIt \\(${escaped}:${line}:\\d+\\)$`))
})

test('native frames are skipped: Array#forEach calling track directly names its caller', () => {
  function viaForEach(wt, obj) {
    [obj].forEach(wt.track.bind(wt, 'k')); return lineHere()
  }
  const { origin, line } = originOf(viaForEach)
  assert.match(origin, new RegExp(`^at viaForEach \\(${escaped}:${line}:\\d+\\)$`))
})

test('origins stay right with Error.stackTraceLimit = 0, and the limit is left at 0', (t) => {
  const saved = Error.stackTraceLimit
  t.after(() => { Error.stackTraceLimit = saved })
  Error.stackTraceLimit = 0
  function limited(wt, obj) {
    wt.track('k', obj)
  }
  const { origin } = originOf(limited)
  assert.equal(Error.stackTraceLimit, 0)
  assert.match(origin, /^at limited \(/)
})

test('origins stay right under an app Error.prepareStackTrace, which is left in place', (t) => {
  const custom = () => 'formatted by the app'
  t.after(() => { delete Error.prepareStackTrace })
  Error.prepareStackTrace = custom
  function prepared(wt, obj) {
    wt.track('k', obj)
  }
  const { origin } = originOf(prepared)
  assert.equal(Error.prepareStackTrace, custom)
  assert.equal(new Error().stack, 'formatted by the app')
  assert.match(origin, /^at prepared \(/)
})

test('an Error.prepareStackTrace the app never set stays unset', () => {
  assert.equal(Object.hasOwn(Error, 'prepareStackTrace'), false)
  originOf((wt, obj) => wt.track('k', obj))
  assert.equal(Object.hasOwn(Error, 'prepareStackTrace'), false)
  assert.equal(Object.hasOwn(Error, 'stackTraceLimit'), true)
})

test("an ES module's origin keeps its file:// URL", () => {
  const out = JSON.parse(execFileSync(process.execPath, [path.join(__dirname, 'fixtures/esm-app.mjs')]))
  assert.equal(out.independent, true)
  const found = Object.keys(origins(out.refs, 'esm'))
  assert.equal(found.length, 1)
  assert.match(found[0], /^at trackInModule \(file:\/\/.*esm-app\.mjs:7:\d+\)$/)
})

test("track emits 'ref' with the key and the origin, synchronously", () => {
  const wt = WeakTracker()
  const seen = []
  wt.on('ref', (key, origin) => seen.push([key, origin]))
  const obj = {}
  function emitter() {
    wt.track('announced', obj)
  }
  emitter()
  assert.equal(seen.length, 1)
  assert.equal(seen[0][0], 'announced')
  assert.deepEqual(Object.keys(origins(wt.refs, 'announced')), [seen[0][1]])
  assert.match(seen[0][1], /^at emitter \(/)
})
