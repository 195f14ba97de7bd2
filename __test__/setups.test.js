'use strict'

// Origins in the set-ups real apps have: bundlers' eval modules, reloaded and vm scripts, source
// maps (Node's own, ts-node, tsx), hostile Error set-ups, libraries that track from deep down.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const vm = require('node:vm')
const util = require('node:util')
const { spawnSync } = require('node:child_process')
const { WeakTracker } = require('..')
const { cachedOrigins } = require('../lib/origin.js')
const fakeLib = require('./fixtures/node_modules/fake-lib')
const { collectUntil, origins } = require('./helpers.js')

const pkg = path.join(__dirname, '..')
const kept = []

// The origins recorded under 'k' when `fn(wt, obj)` tracks one object.
function originsOf(fn) {
  const wt = WeakTracker()
  const obj = {}
  kept.push(obj)
  fn(wt, obj)
  return Object.keys(origins(wt.refs, 'k'))
}

function tmpDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-setups-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

test("code in eval with a //# sourceURL (webpack's devtool: 'eval') is an origin, named by its URL", () => {
  const found = originsOf((wt, obj) => {
    // eslint-disable-next-line no-eval
    eval('function handler(wt, obj) {\n  wt.track("k", obj)\n}\nhandler(wt, obj)\n//# sourceURL=webpack://app/./src/server.js')
  })
  assert.deepEqual(found, ['at handler (webpack://app/./src/server.js:2:6)'])
})

test('new Function with a sourceURL is an origin, and node_modules inside a bundle are skipped', () => {
  const libTrack = new Function('wt', 'obj', 'wt.track("k", obj)\n//# sourceURL=webpack://app/./node_modules/lib/index.js')
  const appModule = new Function('libTrack', 'wt', 'obj', '\nlibTrack(wt, obj)\n//# sourceURL=webpack://app/./src/routes.js')
  assert.deepEqual(originsOf((wt, obj) => appModule(libTrack, wt, obj)), ['at eval (webpack://app/./src/routes.js:4:1)'])
})

test('two vm scripts with the same file name each get their own line and function', () => {
  // Prefixes of the same length, so that the track call sits at the same character position.
  const body = (name) => ` function ${name}(wt, obj) { wt.track("k", obj) }; ${name}`
  const first = vm.runInThisContext(`/*${' '.repeat(14)}*/${body('first')}`)
  const second = vm.runInThisContext(`${'\n'.repeat(18)}${body('other')}`)
  const wt = WeakTracker()
  for (const fn of [first, second, first]) {
    const obj = {}
    kept.push(obj)
    fn(wt, obj)
  }
  assert.deepEqual(origins(wt.refs, 'k'), {
    'at first (evalmachine.<anonymous>:1:49)': 2,
    'at other (evalmachine.<anonymous>:19:31)': 1,
  })
})

test('a module reloaded from disk after an edit gets the edited line, not the first load', (t) => {
  const file = path.join(tmpDir(t), 'handler.js')
  const load = (source) => {
    fs.writeFileSync(file, source)
    delete require.cache[file]
    return require(file)
  }
  const v1 = load('// v1 of the handler         \nmodule.exports = function v1(wt, obj) { wt.track("k", obj) }\n')
  const v2 = load('\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\nmodule.exports = function v2(wt, obj) { wt.track("k", obj) }\n')
  const wt = WeakTracker()
  for (const fn of [v1, v2]) {
    const obj = {}
    kept.push(obj)
    fn(wt, obj)
  }
  assert.deepEqual(origins(wt.refs, 'k'), {
    [`at v1 (${file}:2:44)`]: 1,
    [`at v2 (${file}:31:44)`]: 1,
  })
})

test('the origin cache shrinks back once the scripts that filled it have nothing alive', async () => {
  const wt = WeakTracker()
  const baseline = cachedOrigins()
  let held = []
  ;(function evaluateMany() {
    for (let i = 0; i < 2000; i++) {
      vm.runInThisContext(`(wt, held) => { const o = {}; held.push(o); wt.track('many', o) } // ${i}`, { filename: `script-${i}.js` })(wt, held)
    }
  })()
  assert.equal(cachedOrigins(), baseline + 2000)
  held = null
  // (Trackers of earlier tests that are collected meanwhile may take the cache below the baseline.)
  await collectUntil(() => wt.refs.many === undefined && cachedOrigins() <= baseline)
})

test('a library calling track beneath 250 of its own frames still names the app line', () => {
  function deepApp(wt, obj) {
    fakeLib.callThrough(250, fakeLib.trackFor.bind(null, wt, 'k', obj))
  }
  const [origin] = originsOf(deepApp)
  assert.match(origin, /^at deepApp \(.*setups\.test\.js:\d+:\d+\)$/)
})

// The TypeScript fixture, compiled by TypeScript itself with an inline source map.
function compiledApp(t) {
  const ts = require('typescript')
  const dir = tmpDir(t)
  const source = fs.readFileSync(path.join(__dirname, 'fixtures/ts/app.ts'), 'utf8')
  const { outputText } = ts.transpileModule(source, {
    fileName: 'app.ts',
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020, inlineSourceMap: true },
  })
  fs.writeFileSync(path.join(dir, 'app.js'), outputText)
  return dir
}

function runApp(args, options = {}) {
  const out = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000, ...options })
  assert.equal(out.status, 0, out.stderr)
  return JSON.parse(out.stdout)
}

test('with --enable-source-maps the origin is the TypeScript line', (t) => {
  const dir = compiledApp(t)
  assert.deepEqual(runApp(['--enable-source-maps', path.join(dir, 'app.js'), pkg]), [`at makeSession (${path.join(dir, 'app.ts')}:14:6)`])
})

test('with process.setSourceMapsEnabled(true) the origin is the TypeScript line', (t) => {
  const dir = compiledApp(t)
  fs.writeFileSync(path.join(dir, 'main.js'), "process.setSourceMapsEnabled(true)\nrequire('./app.js')\n")
  assert.deepEqual(runApp([path.join(dir, 'main.js'), pkg]), [`at makeSession (${path.join(dir, 'app.ts')}:14:6)`])
})

test('under ts-node the origin is the TypeScript line', () => {
  const cwd = path.join(__dirname, 'fixtures/ts')
  const out = runApp(['-r', require.resolve('ts-node/register'), 'app.ts', pkg], { cwd })
  assert.deepEqual(out, [`at makeSession (${path.join(cwd, 'app.ts')}:14:6)`])
})

test('under tsx the origin is the TypeScript line', () => {
  const cwd = path.join(__dirname, 'fixtures/ts')
  const cli = path.join(path.dirname(require.resolve('tsx/package.json')), 'dist/cli.mjs')
  assert.deepEqual(runApp([cli, 'app.ts', pkg], { cwd }), [`at makeSession (${path.join(cwd, 'app.ts')}:14:6)`])
})

const fixture = path.join(__dirname, 'fixtures/hostile-error.js')
const APP = `at appLine (${fixture}:29:6)`
const VIA_LIBRARY = `at viaLibrary (${fixture}:32:3)`

const setUps = [
  ['a getter-only Error.prepareStackTrace', [fixture, pkg, 'getter-only'], true],
  ['a non-writable Error.prepareStackTrace', [fixture, pkg, 'non-writable'], true],
  ['a throwing Error.prepareStackTrace', [fixture, pkg, 'throwing'], true],
  ['Object.freeze(Error)', [fixture, pkg, 'frozen'], false],
  ['--frozen-intrinsics', ['--frozen-intrinsics', fixture, pkg, 'none'], false],
]

for (const [name, args, limitWritable] of setUps) {
  test(`under ${name}, track() never throws, changes nothing, and names the app line`, () => {
    const out = runApp(args)
    assert.deepEqual(out.errors, [])
    assert.equal(out.unchanged, true, 'Error.stackTraceLimit and Error.prepareStackTrace are as the app left them')
    assert.deepEqual(out.app, [APP])
    if (limitWritable || typeof util.getCallSites === 'function') {
      assert.deepEqual(out.lib, [VIA_LIBRARY])
    } else {
      // A frozen limit of 10 frames and no util.getCallSites (Node < 22.9): the outermost frame
      // within reach, inside the library.
      assert.equal(out.lib.length, 1)
      assert.match(out.lib[0], /node_modules[/\\]fake-lib[/\\]index\.js:\d+:\d+\)$/)
    }
  })
}

test('with addons disabled, require names the real cause: ERR_DLOPEN_DISABLED', () => {
  const out = spawnSync(process.execPath, ['--no-addons', '-e', `require(${JSON.stringify(pkg)})`], { encoding: 'utf8' })
  assert.notEqual(out.status, 0)
  assert.match(out.stderr, /code: 'ERR_DLOPEN_DISABLED'/)
  assert.match(out.stderr, /this process may not load native addons/)
  assert.doesNotMatch(out.stderr, /reinstall|rebuild/)
})

test('under the permission model without --allow-addons, require names ERR_DLOPEN_DISABLED', (t) => {
  const flag = ['--permission', '--experimental-permission'].find((f) => process.allowedNodeEnvironmentFlags.has(f))
  if (flag === undefined) return t.skip('no permission model in this Node')
  const out = spawnSync(process.execPath, [flag, '--allow-fs-read=*', '-e', `require(${JSON.stringify(pkg)})`], { encoding: 'utf8' })
  assert.notEqual(out.status, 0)
  assert.match(out.stderr, /code: 'ERR_DLOPEN_DISABLED'/)
  assert.match(out.stderr, /this process may not load native addons/)
})

test('origins of many versions of one script at one position are cached apart and released one by one', async () => {
  const wt = WeakTracker()
  const baseline = cachedOrigins()
  let held = []
  // Ten versions of a script with one name: the call at the same position, on another line each.
  const versions = Array.from({ length: 10 }, (_, v) =>
    vm.runInThisContext(`${'\n'.repeat(v)}/*${' '.repeat(20 - v)}*/ (wt, held) => { const o = {}; held.push(o); wt.track('v', o) }`, { filename: 'versioned.js' }),
  )
  versions.forEach((fn) => fn(wt, held))
  const lines = Object.keys(origins(wt.refs, 'v')).map((o) => Number(o.match(/versioned\.js:(\d+):/)[1]))
  assert.deepEqual(lines.sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  assert.equal(cachedOrigins(), baseline + 10)
  // Release the middle ones first, then the rest: every chain link goes.
  held = held.filter((_, i) => i % 3 === 0)
  await collectUntil(() => wt.refs.v?._total === 4)
  held = null
  await collectUntil(() => wt.refs.v === undefined && cachedOrigins() <= baseline)
})
