'use strict'

// node benchmark/heap-generate.js [MIB] [--grow PERCENT]
//
// Writes a heap snapshot of about MIB MiB (default 1024) in the shape of a Node 20 snapshot: V8's
// node and edge fields, a root, (GC roots), a global object holding 100 arrays of "sessions" (an
// object with strings, an array, a closure and its context, a heap number: about 4.5 edges and
// 100 bytes of JSON per node, as measured on Node 20's own snapshots), a 100,000-link chain, locations for the closures, and a strings table.
// With --grow, writes the same heap with PERCENT% more sessions, under the same ids: a later
// snapshot of the same process, for `growth`. Files are cached under ~/.cache/weak-tracker (never in
// the project); prints the path.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const NODE_FIELDS = ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness']
const NODE_TYPES = ['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native', 'synthetic', 'concatenated string', 'sliced string', 'symbol', 'bigint', 'object shape']
const EDGE_TYPES = ['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak']
const T = Object.fromEntries(NODE_TYPES.map((t, i) => [t, i]))
const E = Object.fromEntries(EDGE_TYPES.map((t, i) => [t, i]))
const NF = NODE_FIELDS.length

const STORES = 100
const CHAIN = 100_000
const PER_UNIT = 9 // nodes per session
const BYTES_PER_UNIT = 940 // measured on the output, to size the file

const NAMES = [
  '', '(GC roots)', '(Global handles)', 'global', 'system / Map', '(object properties)', 'Object', 'handler',
  '/srv/app.js', 'system / Context', 'Session', 'Link', 'Array', '(object elements)', 'user', 'email', 'data',
  'handler', 'map', 'properties', '__proto__', 'elements', 'context', 'shared', 'script_or_debug_info', 'session',
  'previous', 'count', 'next', 'chain', 'heap number', 'created', 'updated', 'flags', 'owner', 'store', 'payload',
]
const S = Object.fromEntries(NAMES.map((n, i) => [n, i]))
const storeName = (k) => NAMES.length + k
const firstUnitString = NAMES.length + STORES

function layout(units) {
  // Ordinals.
  const o = { root: 0, gcRoots: 1, handles: 2, global: 3, mapSession: 4, mapArray: 5, mapFn: 6, empty: 7, proto: 8, shared: 9, script: 10, moduleCtx: 11, ctorSession: 12, ctorLink: 13 }
  o.stores = 14
  o.chain = o.stores + 2 * STORES
  o.units = o.chain + CHAIN
  o.count = o.units + units * PER_UNIT
  return o
}

// Calls node(type, name, id, size, edgeCount) for every node and edge(type, nameOrIndex, to) for
// every edge, in V8's order.
function walk(units, generation, node, edge) {
  const o = layout(units)
  const unitId = (u, p) => 1_000_001 + 2 * (u * PER_UNIT + p)
  const stel = (k) => o.stores + 2 * k + 1
  const perStore = (k) => Math.floor(units / STORES) + (k < units % STORES ? 1 : 0)
  node(T.synthetic, S[''], 1, 0, 2)
  edge(E.element, 1, o.gcRoots)
  edge(E.shortcut, S.global, o.global)
  node(T.synthetic, S['(GC roots)'], 3, 0, 1)
  edge(E.element, 0, o.handles)
  node(T.synthetic, S['(Global handles)'], 5, 0, 1)
  edge(E.element, 0, o.global)
  node(T.object, S.global, 7, 64, STORES + 4)
  for (let k = 0; k < STORES; k++) edge(E.property, storeName(k), o.stores + 2 * k)
  edge(E.property, S.chain, o.chain)
  edge(E.property, S.Session, o.ctorSession)
  edge(E.property, S.Link, o.ctorLink)
  edge(E.internal, S.map, o.mapSession)
  node(T['object shape'], S['system / Map'], 9, 80, 0)
  node(T['object shape'], S['system / Map'], 11, 80, 0)
  node(T['object shape'], S['system / Map'], 13, 80, 0)
  node(T.array, S['(object properties)'], 15, 16, 0)
  node(T.object, S.Object, 17, 28, 0)
  node(T.code, S.handler, 19, 56, 1)
  edge(E.internal, S.script_or_debug_info, o.script)
  node(T.code, S['/srv/app.js'], 21, 120, 0)
  node(T.object, S['system / Context'], 23, 48, 0)
  node(T.closure, S.Session, 25, 32, 1)
  edge(E.internal, S.context, o.moduleCtx)
  node(T.closure, S.Link, 27, 32, 1)
  edge(E.internal, S.context, o.moduleCtx)
  let unit = 0
  for (let k = 0; k < STORES; k++) {
    const n = perStore(k)
    node(T.object, S.Array, 101 + 4 * k, 32, 2)
    edge(E.internal, S.map, o.mapArray)
    edge(E.internal, S.elements, stel(k))
    // A store's elements grow by reallocation: a new id when the store has more sessions.
    node(T.array, S['(object elements)'], 4_000_000_001 + 2 * k + 1_000 * generation, 16 + 8 * n, n)
    for (let j = 0; j < n; j++) edge(E.element, j, o.units + (unit + j) * PER_UNIT)
    unit += n
  }
  for (let i = 0; i < CHAIN; i++) {
    const last = i === CHAIN - 1
    node(T.object, S.Link, 200_001 + 2 * i, 32, last ? 1 : 2)
    edge(E.internal, S.map, o.mapSession)
    if (!last) edge(E.property, S.next, o.chain + i + 1)
  }
  for (let u = 0; u < units; u++) {
    const base = o.units + u * PER_UNIT
    const [s, user, email, arr, el, fn, ctx, num, payload] = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((p) => base + p)
    const other = o.units + ((u * 7919) % units) * PER_UNIT
    node(T.object, S.Session, unitId(u, 0), 64, 15)
    edge(E.property, S.payload, payload)
    edge(E.property, S.count, num)
    edge(E.property, S.previous, o.units + ((u + 1) % units) * PER_UNIT)
    edge(E.property, S.user, user)
    edge(E.property, S.email, email)
    edge(E.property, S.data, arr)
    edge(E.property, S.handler, fn)
    edge(E.property, S.created, num)
    edge(E.property, S.updated, num)
    edge(E.property, S.flags, o.empty)
    edge(E.property, S.owner, other)
    edge(E.property, S.store, o.stores)
    edge(E.property, S.__proto__, o.proto)
    edge(E.internal, S.map, o.mapSession)
    edge(E.internal, S.properties, o.empty)
    node(T.string, firstUnitString + 3 * u, unitId(u, 1), 40, 0)
    node(T.string, firstUnitString + 3 * u + 1, unitId(u, 2), 48, 0)
    node(T.object, S.Array, unitId(u, 3), 32, 2)
    edge(E.internal, S.map, o.mapArray)
    edge(E.internal, S.elements, el)
    node(T.array, S['(object elements)'], unitId(u, 4), 128, 14)
    for (let j = 0; j < 14; j++) edge(E.element, j, j % 2 ? num : o.units + ((u + j + 1) % units) * PER_UNIT + 1)
    node(T.closure, S.handler, unitId(u, 5), 32, 4)
    edge(E.internal, S.context, ctx)
    edge(E.internal, S.shared, o.shared)
    edge(E.internal, S.map, o.mapFn)
    edge(E.property, S.__proto__, o.proto)
    node(T.object, S['system / Context'], unitId(u, 6), 40, 4)
    edge(E.context, S.session, s)
    edge(E.context, S.count, num)
    edge(E.internal, S.previous, o.moduleCtx)
    edge(E.internal, S.map, o.mapFn)
    node(T.number, S['heap number'], unitId(u, 7), 16, 0)
    node(T.string, firstUnitString + 3 * u + 2, unitId(u, 8), 120, 0)
  }
}

function generate(file, units, generation) {
  const fd = fs.openSync(`${file}.tmp`, 'w')
  let buffer = ''
  const write = (text) => {
    buffer += text
    if (buffer.length > 1 << 22) {
      fs.writeSync(fd, buffer)
      buffer = ''
    }
  }
  const o = layout(units)
  let edges = 0
  walk(units, generation, () => {}, () => edges++)
  const meta = {
    node_fields: NODE_FIELDS,
    node_types: [NODE_TYPES, 'string', 'number', 'number', 'number', 'number', 'number'],
    edge_fields: ['type', 'name_or_index', 'to_node'],
    edge_types: [EDGE_TYPES, 'string_or_number', 'node'],
    trace_function_info_fields: ['function_id', 'name', 'script_name', 'script_id', 'line', 'column'],
    trace_node_fields: ['id', 'function_info_index', 'count', 'size', 'children'],
    sample_fields: ['timestamp_us', 'last_assigned_id'],
    location_fields: ['object_index', 'script_id', 'line', 'column'],
  }
  write(`{"snapshot":{"meta":${JSON.stringify(meta)},"node_count":${o.count},"edge_count":${edges},"trace_function_count":0},\n"nodes":[`)
  let first = true
  walk(
    units,
    generation,
    (type, name, id, size, count) => {
      write(`${first ? '' : ',\n'}${type},${name},${id},${size},${count},0,0`)
      first = false
    },
    () => {},
  )
  write('],\n"edges":[')
  first = true
  walk(
    units,
    generation,
    () => {},
    (type, name, to) => {
      write(`${first ? '' : ',\n'}${type},${name},${to * NF}`)
      first = false
    },
  )
  write('],\n"trace_function_infos":[],\n"trace_tree":[],\n"samples":[],\n"locations":[')
  for (let u = 0; u < units; u++) write(`${u ? ',\n' : ''}${(o.units + u * PER_UNIT + 5) * NF},1,${34 + (u % 100)},5`)
  write('],\n"strings":[')
  const strings = [...NAMES]
  for (let k = 0; k < STORES; k++) strings.push(`store${k}`)
  write(strings.map((s) => JSON.stringify(s)).join(',\n'))
  for (let u = 0; u < units; u++) {
    write(`,\n"user${u}",\n"user${u}@example.com",\n"GET /api/v1/sessions/${u}/items?page=${u % 97}&sort=created HTTP/1.1 (session payload ${u})"`)
  }
  write(']}\n')
  fs.writeSync(fd, buffer)
  fs.closeSync(fd)
  fs.renameSync(`${file}.tmp`, file)
}

function snapshotFile(mib, grow = 0) {
  const dir = path.join(os.homedir(), '.cache', 'weak-tracker')
  fs.mkdirSync(dir, { recursive: true })
  const base = Math.max(STORES, Math.round((mib * 2 ** 20) / BYTES_PER_UNIT))
  const units = Math.round(base * (1 + grow / 100))
  const file = path.join(dir, `heap-${mib}mib${grow ? `-grow${grow}` : ''}.heapsnapshot`)
  if (!fs.existsSync(file)) generate(file, units, grow ? 1 : 0)
  return file
}

module.exports = { snapshotFile }

if (require.main === module) {
  const args = process.argv.slice(2)
  const at = args.indexOf('--grow')
  const grow = at >= 0 ? Number(args.splice(at, 2)[1]) : 0
  const mib = Number(args[0] ?? 1024)
  if (!(mib > 0) || !(grow >= 0)) {
    process.stderr.write('usage: node benchmark/heap-generate.js [MIB] [--grow PERCENT]\n')
    process.exit(2)
  }
  process.stdout.write(`${snapshotFile(mib, grow)}\n`)
}
