'use strict'

// How the JavaScript modules depend on each other: one home per concern, and no cycle. Every
// `require()` of lib/, index.js, register.js and bin/ counts, the lazy ones inside functions as
// much as those at the top, and so does a table of module paths (bin/weak-tracker.js's commands).
// The sources are read with TypeScript's parser (a devDependency), so comments and strings that
// merely mention a require are not taken for one.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const ts = require('typescript')

const root = path.join(__dirname, '..')
const rel = (file) => path.relative(root, file).split(path.sep).join('/')

function filesUnder(dir) {
  const found = []
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) found.push(...filesUnder(full))
    else if (entry.name.endsWith('.js')) found.push(full)
  }
  return found
}

const libFiles = filesUnder(path.join(root, 'lib'))
const binFiles = fs
  .readdirSync(path.join(root, 'bin'))
  .filter((f) => f.endsWith('.js'))
  .map((f) => path.join(root, 'bin', f))
const modules = [...libFiles, path.join(root, 'index.js'), path.join(root, 'register.js'), ...binFiles]

// The file a relative specifier names, as Node resolves it (`x` -> `x.js` -> `x/index.js`).
function resolve(from, spec) {
  const target = path.resolve(path.dirname(from), spec)
  for (const candidate of [target, `${target}.js`, path.join(target, 'index.js')]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate
  }
  return null
}

function parse(file) {
  return ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.JS)
}

// A file's edges (the project files it requires) and its require() calls whose argument is not a
// string literal, as source text.
function dependencies(file) {
  const source = parse(file)
  const edges = new Set()
  const dynamic = []
  const visit = (node) => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'require') {
      const [arg] = node.arguments
      if (arg === undefined || !ts.isStringLiteralLike(arg)) dynamic.push(node.getText(source))
    }
    // A require's argument, or an entry of a table of modules: any './' or '../' path to a file.
    if (ts.isStringLiteralLike(node) && /^\.\.?\//.test(node.text)) {
      const target = resolve(file, node.text)
      if (target !== null && target.endsWith('.js')) edges.add(target)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return { edges, dynamic }
}

function requireGraph() {
  const graph = new Map()
  const dynamic = []
  for (const file of modules) {
    const found = dependencies(file)
    graph.set(rel(file), [...found.edges].map(rel))
    for (const call of found.dynamic) dynamic.push([rel(file), call])
  }
  return { graph, dynamic }
}

// A cycle of `graph` (node -> nodes it points to) as a path whose last node is its first, or null.
function findCycle(graph) {
  const state = new Map()
  const stack = []
  const visit = (node) => {
    state.set(node, 'open')
    stack.push(node)
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') return [...stack.slice(stack.indexOf(next)), next]
      if (!state.has(next)) {
        const cycle = visit(next)
        if (cycle !== null) return cycle
      }
    }
    stack.pop()
    state.set(node, 'done')
    return null
  }
  for (const node of graph.keys()) {
    if (state.has(node)) continue
    const cycle = visit(node)
    if (cycle !== null) return cycle
  }
  return null
}

test('the cycle check finds a cycle in a graph that has one, and none in a diamond', () => {
  const cyclic = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
  ])
  assert.deepEqual(findCycle(cyclic), ['a', 'b', 'c', 'a'])
  const diamond = new Map([
    ['a', ['b', 'c']],
    ['b', ['d']],
    ['c', ['d']],
    ['d', []],
  ])
  assert.equal(findCycle(diamond), null)
})

test('the require graph sees lazy requires inside functions and the table of commands', () => {
  const { graph } = requireGraph()
  // lib/register.js loads the watchers only when asked to watch, inside a method.
  assert.ok(graph.get('lib/register.js').includes('lib/watch.js'), graph.get('lib/register.js'))
  assert.ok(graph.get('bin/weak-tracker.js').includes('lib/commands/why.js'), graph.get('bin/weak-tracker.js'))
})

test('the require graph of lib/, index.js, register.js and bin/ has no cycle', () => {
  const { graph } = requireGraph()
  const cycle = findCycle(graph)
  assert.equal(cycle, null, `import cycle: ${cycle?.join(' -> ')}`)
})

test('nothing in lib/ requires the package entry index.js', () => {
  const { graph } = requireGraph()
  const upward = [...graph].filter(([file, edges]) => file.startsWith('lib/') && edges.includes('index.js')).map(([file]) => file)
  assert.deepEqual(upward, [])
})

test('the only requires of a computed name are the native package and the command table', () => {
  const { dynamic } = requireGraph()
  assert.deepEqual(dynamic, [
    ['lib/binding.js', 'require(name)'],
    ['bin/weak-tracker.js', 'require(COMMANDS[name])'],
  ])
})

test('the shared tracker has its own module, which the entry, weak-tracker/assert and the register entry use', () => {
  const { graph } = requireGraph()
  for (const file of ['index.js', 'lib/assert.js', 'lib/register.js']) {
    assert.ok(graph.get(file).includes('lib/shared.js'), `${file} requires ${graph.get(file)}`)
  }
  const weakTracker = require('..')
  assert.equal(weakTracker(), require('../lib/shared.js').sharedTracker())
  assert.equal(weakTracker(), weakTracker())
})

test('index.js names every module of lib/ in its table of contents', () => {
  const entry = fs.readFileSync(path.join(root, 'index.js'), 'utf8')
  const missing = libFiles.map(rel).filter((file) => !new RegExp(`^//.*\\b${file.replace(/[./]/g, '\\$&')}\\b`, 'm').test(entry))
  assert.deepEqual(missing, [])
})

test('isObject is written once, in lib/validate.js beside lib/errors.js', () => {
  const homes = []
  for (const file of modules) {
    const source = parse(file)
    const visit = (node) => {
      const named = ts.isFunctionDeclaration(node) || ts.isVariableDeclaration(node)
      if (named && node.name && ts.isIdentifier(node.name) && node.name.text === 'isObject') homes.push(rel(file))
      ts.forEachChild(node, visit)
    }
    visit(source)
  }
  assert.deepEqual(homes, ['lib/validate.js'])
})
