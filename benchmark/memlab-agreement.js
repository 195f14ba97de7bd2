'use strict'

// node benchmark/memlab-agreement.js model FILE.heapsnapshot ID...          (used by benchmark/memlab.js)
// node benchmark/memlab-agreement.js memlab MEMLAB_DIR FILE.heapsnapshot ID...
//
// `memlab`: what memlab itself says: its getFullHeapFromFile (@memlab/heap-analysis) and each id's
// node.retainedSize, and the id of one Item (getAnyObjectWithClassName) for `memlab trace`.
// Prints JSON { sizes: { id: bytes }, item }.
//
// `model`:
// Why weak-tracker's retained size of a node differs from memlab's: both are "what the root no
// longer reaches once the node is gone" over a graph, and the two graphs differ only in which
// edges count as owning. This rebuilds both graphs from the snapshot in plain JavaScript, computes
// each node's retained set under each rule (reachable from the root, minus reachable with the node
// taken out), checks the sums against what the two tools printed, and for every object counted by
// one side only names the edge that makes the difference (the first edge, walking back from the
// object along the other side's path, that one rule counts and the other does not). Prints JSON:
// per id { ours, memlab, reasons: [{ side, how, reason, edges, objects, bytes }] }. Names of edges and node types
// only (edge names of V8's machinery, property and variable names), never string contents.

const fs = require('node:fs')

function load(file) {
  const snap = JSON.parse(fs.readFileSync(file, 'utf8'))
  const meta = snap.snapshot.meta
  const NF = meta.node_fields.length
  const EF = meta.edge_fields.length
  const nodeTypes = meta.node_fields.indexOf('type') >= 0 ? meta.node_types[meta.node_fields.indexOf('type')] : []
  const edgeTypes = meta.edge_types[meta.edge_fields.indexOf('type')]
  const f = (name) => meta.node_fields.indexOf(name)
  const [fType, fName, fId, fSize, fCount] = ['type', 'name', 'id', 'self_size', 'edge_count'].map(f)
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((n) => meta.edge_fields.indexOf(n))
  const n = snap.nodes.length / NF
  const m = snap.edges.length / EF
  const g = {
    n,
    m,
    strings: snap.strings,
    nodeTypes,
    edgeTypes,
    type: new Uint8Array(n),
    name: new Uint32Array(n),
    id: new Float64Array(n),
    size: new Float64Array(n),
    first: new Uint32Array(n + 1),
    etype: new Uint8Array(m),
    ename: new Uint32Array(m),
    eto: new Uint32Array(m),
    efrom: new Uint32Array(m),
  }
  for (let i = 0, e = 0; i < n; i++) {
    const b = i * NF
    g.type[i] = snap.nodes[b + fType]
    g.name[i] = snap.nodes[b + fName]
    g.id[i] = snap.nodes[b + fId]
    g.size[i] = snap.nodes[b + fSize]
    g.first[i] = e
    e += snap.nodes[b + fCount]
    g.first[i + 1] = e
  }
  for (let i = 0; i < n; i++) for (let e = g.first[i]; e < g.first[i + 1]; e++) g.efrom[e] = i
  for (let e = 0; e < m; e++) {
    g.etype[e] = snap.edges[e * EF + eType]
    g.ename[e] = snap.edges[e * EF + eName]
    g.eto[e] = snap.edges[e * EF + eTo] / NF
  }
  return g
}

const edgeTypeName = (g, e) => g.edgeTypes[g.etype[e]]
const named = (g, e) => !['element', 'hidden'].includes(edgeTypeName(g, e))
const edgeName = (g, e) => (named(g, e) ? g.strings[g.ename[e]] : null)
const nodeTypeName = (g, v) => g.nodeTypes[g.type[v]]
const nodeName = (g, v) => g.strings[g.name[v]]
const STRING_TYPES = new Set(['string', 'concatenated string', 'sliced string'])
const MACHINERY = new Set(['system / NativeContext', 'system / SourcePositionTableWithFrameCache', '(map descriptors)'])
const ephemeron = (name) => name !== null && name.includes('part of key (') && name.includes('pair in WeakMap')

// weak-tracker's rule (src/heap/dominators.rs `retains`): the reason an edge is not owning, or null.
function oursDrops(g, e) {
  const from = g.efrom[e]
  const to = g.eto[e]
  if (to === from) return 'self edges'
  const ty = edgeTypeName(g, e)
  const name = edgeName(g, e)
  if (ephemeron(name)) {
    if (ty === 'weak') return 'weak edges'
    const table = Number(name.slice(name.lastIndexOf('(table @') + 8, -1))
    return table === g.id[from] ? 'WeakMap table → value edges (the key owns the value)' : null
  }
  if (ty === 'weak') return 'weak edges'
  if (STRING_TYPES.has(nodeTypeName(g, to))) return null
  if (ty === 'internal' && name === 'code') return 'internal "code" edges'
  if (ty === 'hidden' && name === 'sloppy_function_map') return 'hidden "sloppy_function_map" edges'
  if (ty === 'hidden' && nodeName(g, to) === 'system / NativeContext') return 'hidden edges into system / NativeContext'
  if (nodeTypeName(g, to) === 'code') return 'edges into V8 code objects'
  if (MACHINERY.has(nodeName(g, to))) return `edges into ${nodeName(g, to)}`
  return null
}

// memlab 2.0.5's rule (@memlab/core dist/paths/TraceFinder.js `computeDominatorsAndRetainedSizes`,
// `isEssential`): not self, not weak, no shortcut but the root's, nothing from an object the root
// does not reach strongly into one it does (flagReachableNodesFromWindow).
function memlabFlags(g) {
  const flags = new Uint8Array(g.n)
  const stack = []
  for (let e = g.first[0]; e < g.first[1]; e++) {
    if (edgeTypeName(g, e) === 'shortcut') continue
    if (edgeTypeName(g, e) === 'element' && nodeName(g, g.eto[e]) === '(Document DOM trees)') continue
    if (!flags[g.eto[e]]) stack.push(g.eto[e])
    flags[g.eto[e]] = 1
  }
  while (stack.length) {
    const v = stack.pop()
    for (let e = g.first[v]; e < g.first[v + 1]; e++) {
      const w = g.eto[e]
      if (flags[w] || edgeTypeName(g, e) === 'weak') continue
      flags[w] = 1
      stack.push(w)
    }
  }
  return flags
}

function memlabDropper(g) {
  const flags = memlabFlags(g)
  return (e) => {
    const from = g.efrom[e]
    const to = g.eto[e]
    if (to === from) return 'self edges'
    const ty = edgeTypeName(g, e)
    if (ty === 'weak') return 'weak edges'
    if (ty === 'shortcut' && from !== 0) return 'shortcut edges (but the root\'s)'
    if (from !== 0 && flags[to] && !flags[from]) return 'edges from weakly held objects'
    return null
  }
}

// Breadth-first from the root over the edges `keep` allows, never entering `blocked`: per node,
// the edge that reached it (or -1 for the root, -2 for not reached).
function reach(g, keep, blocked = -1) {
  const via = new Int32Array(g.n).fill(-2)
  via[0] = -1
  const queue = new Uint32Array(g.n)
  let head = 0
  let tail = 0
  queue[tail++] = 0
  while (head < tail) {
    const v = queue[head++]
    for (let e = g.first[v]; e < g.first[v + 1]; e++) {
      const w = g.eto[e]
      if (via[w] !== -2 || w === blocked || !keep[e]) continue
      via[w] = e
      queue[tail++] = w
    }
  }
  return via
}

// The first edge on `via`'s path to v (walking back from v) that `drops` rejects.
function culprit(g, via, v, drops) {
  for (let w = v; via[w] >= 0; w = g.efrom[via[w]]) {
    const reason = drops(via[w])
    if (reason) return { edge: via[w], reason }
  }
  return null
}

// Names from code only: a node type whose name is app data (string contents, a regexp's source, a
// number) shows as its type, an edge name that is not an identifier as `(name)`.
const CONTENT_TYPES = new Set([...STRING_TYPES, 'regexp', 'number', 'symbol', 'bigint'])
const IDENTIFIER = /^(?:[A-Za-z_$][\w$]{0,63}|\d{1,10}|system \/ [A-Za-z]{1,40}|\([a-z ]{1,40}\))$/
function safeNode(g, v) {
  const ty = nodeTypeName(g, v)
  if (CONTENT_TYPES.has(ty)) return `(${ty})`
  const name = nodeName(g, v)
  return IDENTIFIER.test(name) ? name : `(${ty})`
}

// What an edge is, for grouping: its rule, name, type and the target's type (`system / …` names of
// V8's machinery are kept).
function label(g, e) {
  const name = edgeName(g, e)
  const shown = ephemeron(name) ? 'WeakMap entry' : name === null ? `[${g.ename[e]}]` : IDENTIFIER.test(name) ? name : '(name)'
  const to = nodeName(g, g.eto[e])
  const target = /^system \/ |^\(map descriptors\)$/.test(to) ? to : `(${nodeTypeName(g, g.eto[e])})`
  return `--${shown} (${edgeTypeName(g, e)})--> ${target}`
}

function analyse(file, ids) {
  const g = load(file)
  const dropM = memlabDropper(g)
  const keepO = new Uint8Array(g.m)
  const keepM = new Uint8Array(g.m)
  for (let e = 0; e < g.m; e++) {
    keepO[e] = oursDrops(g, e) ? 0 : 1
    keepM[e] = dropM(e) ? 0 : 1
  }
  // memlab hangs what the root does not reach (objects held only weakly) under the root too.
  const viaM0 = reach(g, keepM)
  const viaO0 = reach(g, keepO)
  const ordinal = new Map()
  for (let v = 0; v < g.n; v++) ordinal.set(g.id[v], v)
  const out = []
  for (const id of ids) {
    const x = ordinal.get(id)
    if (x === undefined) continue
    const viaO = reach(g, keepO, x)
    const viaM = reach(g, keepM, x)
    let ours = 0
    let memlab = 0
    const reasons = new Map()
    // side: who counts the object; how: 'only' (the other side does not reach it at all but
    // through edges it does not count) or 'also' (the other side also reaches it without x,
    // through edges `side` does not count); reason: those edges; edge: an example of one.
    const add = (side, how, c, v) => {
      const reason = c?.reason ?? 'unexplained'
      const key = `${side}\u0000${how}\u0000${reason}`
      const r = reasons.get(key) ?? { side, how, reason, edges: [], objects: 0, bytes: 0 }
      if (c) {
        const example = label(g, c.edge)
        if (!r.edges.includes(example)) r.edges.push(example)
      }
      r.objects++
      r.bytes += g.size[v]
      reasons.set(key, r)
    }
    for (let v = 0; v < g.n; v++) {
      const inO = viaO0[v] !== -2 && viaO[v] === -2
      const inM = viaM0[v] !== -2 && viaM[v] === -2
      if (inO) ours += g.size[v]
      if (inM) memlab += g.size[v]
      if (inO === inM) continue
      if (inO) {
        // memlab reaches v without x: along an edge weak-tracker does not count.
        add('ours', 'also', culprit(g, viaM, v, (e) => oursDrops(g, e)), v)
      } else if (viaO0[v] === -2) {
        // weak-tracker does not reach v at all: memlab's path to it uses an edge it does not count.
        add('memlab', 'only', culprit(g, viaM0, v, (e) => oursDrops(g, e)), v)
      } else {
        // weak-tracker reaches v without x: along an edge memlab does not count.
        add('memlab', 'also', culprit(g, viaO, v, dropM), v)
      }
    }
    out.push({ id, name: safeNode(g, x), ours, memlab, reasons: [...reasons.values()].sort((a, b) => b.bytes - a.bytes) })
  }
  return out
}

module.exports = { analyse }

async function memlabSizes(dir, file, ids) {
  const { getFullHeapFromFile } = require(require('node:path').join(dir, 'node_modules/@memlab/heap-analysis'))
  const heap = await getFullHeapFromFile(file)
  const sizes = {}
  for (const id of ids) sizes[id] = heap.getNodeById(id)?.retainedSize ?? null
  return { sizes, item: heap.getAnyObjectWithClassName('Item')?.id ?? null }
}

if (require.main === module) {
  const [mode, ...args] = process.argv.slice(2)
  if (mode === 'model') {
    const [file, ...ids] = args
    process.stdout.write(JSON.stringify(analyse(file, ids.map(Number))))
  } else if (mode === 'memlab') {
    const [dir, file, ...ids] = args
    // memlab writes its progress to stdout too: the result is the last line.
    memlabSizes(dir, file, ids.map(Number)).then((out) => process.stdout.write(`\n${JSON.stringify(out)}\n`))
  } else {
    process.stderr.write('usage: node benchmark/memlab-agreement.js model FILE ID... | memlab MEMLAB_DIR FILE ID...\n')
    process.exitCode = 2
  }
}
