'use strict'

// Origins: the stack line of the code that called `track`, as the app's own stack traces show it.
//
// The caller is found from structured CallSites (`Error.prepareStackTrace` returning them), with
// `Error.stackTraceLimit` and `Error.prepareStackTrace` put back exactly as they were, own property
// or not. An app whose `Error` will not let them be changed (frozen, non-writable, getter-only) is
// never broken by it: the origin then comes from `util.getCallSites()` where Node has it (22.9+),
// or from the stack text that the app's own set-up formats.
//
// Origin text is cached per script (file name and source hash) and position, and dropped once no
// tracker has a live site with that origin: re-evaluated scripts that share a file name keep their
// own lines, and a program that evaluates ever new scripts keeps a bounded cache.

const path = require('node:path')
const util = require('node:util')
const { fileURLToPath } = require('node:url')
const { findSourceMap } = require('node:module')

const getCallSites = typeof util.getCallSites === 'function' ? util.getCallSites : null

// Origin text when no frame names code at all (every frame is Node's own or native).
const UNKNOWN = 'at <anonymous>'

// The least a second capture takes, when the first one found only library frames.
const FIRST_DEEP = 8

function returnCallSites(_error, callSites) {
  return callSites
}

// Makes the next capture return at most `limit` frames, as structured CallSites unless `text`,
// wherever the app's `Error` allows it. Never throws. Returns what `restore` needs, and the app's
// prepareStackTrace.
function takeOver(limit, text = false) {
  const saved = { hadLimit: false, limit: undefined, setLimit: false, hadPrepare: false, prepare: undefined, setPrepare: false }
  try {
    saved.hadLimit = Object.hasOwn(Error, 'stackTraceLimit')
    saved.limit = Error.stackTraceLimit
    Error.stackTraceLimit = limit
    saved.setLimit = true
  } catch {
    // Frozen or getter-only: the capture takes what the app's limit allows.
  }
  if (text) return saved
  try {
    saved.hadPrepare = Object.hasOwn(Error, 'prepareStackTrace')
    saved.prepare = Error.prepareStackTrace
    Error.prepareStackTrace = returnCallSites
    saved.setPrepare = true
  } catch {
    // Frozen or getter-only: the capture yields text, and the caller falls back.
  }
  return saved
}

// Puts back what `takeOver` changed, and nothing else.
function restore(saved) {
  if (saved.setLimit) {
    try {
      if (saved.hadLimit) Error.stackTraceLimit = saved.limit
      else delete Error.stackTraceLimit
    } catch {
      // It was writable a moment ago; nothing sensible is left to do.
    }
  }
  if (saved.setPrepare) {
    try {
      if (saved.hadPrepare) Error.prepareStackTrace = saved.prepare
      else delete Error.prepareStackTrace
    } catch {
      // As above.
    }
  }
}

// Up to `limit` CallSites above `below`, or null where the app's `Error` yields no structured ones.
function captureSites(limit, below) {
  const saved = takeOver(limit)
  const holder = {}
  let sites = null
  try {
    Error.captureStackTrace(holder, below)
    const stack = holder.stack
    if (Array.isArray(stack)) sites = stack
  } catch {
    // An app prepareStackTrace that throws: no structured sites.
  } finally {
    restore(saved)
  }
  return { sites, prepare: saved.prepare, limited: !saved.setLimit }
}

// The file (or URL) of a frame that can name the line of code that made an object: not one of
// Node's own (`node:internal/...`); builtins such as `Array.prototype.map` have no file. Code from
// `eval` / `new Function` counts when it names itself with `//# sourceURL=` (webpack's
// `devtool: 'eval'`, Vite's SSR modules).
function fileOf(site) {
  const file = site.getFileName()
  if (typeof file === 'string') return file.startsWith('node:') ? undefined : file
  if (site.isEval()) {
    const url = site.getScriptNameOrSourceURL()
    if (typeof url === 'string' && url !== '' && !url.startsWith('node:')) return url
  }
  return undefined
}

function isLibraryFile(file) {
  return file.includes('/node_modules/') || file.includes('\\node_modules\\')
}

// Which script a frame runs in, beside its file name: two scripts can share a name (vm scripts,
// modules a dev reloader evaluates again). Node 18 has no source hash; its line and column tell
// different sources apart at the same position.
const scriptOf =
  typeof captureSites(1, captureSites).sites?.[0]?.getScriptHash === 'function'
    ? (site) => site.getScriptHash()
    : (site) => `${site.getLineNumber()}:${site.getColumnNumber()}`

// file -> position -> the scripts seen at that position: { script, text, next }, a short chain
// (nearly always of one). Comparing the script's hash with `===` costs less than a Map keyed by it.
const texts = new Map()
// origin text -> { sites: live sites with this origin, places: [file, position, entry, ...] }.
const uses = new Map()

function remember(text, file, position, entry) {
  let use = uses.get(text)
  if (use === undefined) {
    use = { sites: 0, places: [] }
    uses.set(text, use)
  }
  use.places.push(file, position, entry)
}

// A tracker opened a site with origin `text`.
function retainOrigin(text) {
  const use = uses.get(text)
  if (use !== undefined) use.sites++
}

// A tracker released a site with origin `text`: when none is left, its cached places go.
function releaseOrigin(text) {
  const use = uses.get(text)
  if (use === undefined || --use.sites > 0) return
  uses.delete(text)
  for (let i = 0; i < use.places.length; i += 3) {
    const positions = texts.get(use.places[i])
    const position = use.places[i + 1]
    const entry = use.places[i + 2]
    let head = positions?.get(position)
    if (head === undefined) continue
    if (head === entry) {
      head = entry.next
    } else {
      for (let at = head; at.next !== undefined; at = at.next) {
        if (at.next === entry) {
          at.next = entry.next
          break
        }
      }
    }
    if (head === undefined) positions.delete(position)
    else positions.set(position, head)
    if (positions.size === 0) texts.delete(use.places[i])
  }
}

// How many positions (per script) the cache holds (for tests and benchmarks).
function cachedOrigins() {
  let n = 0
  for (const positions of texts.values()) {
    for (let entry of positions.values()) for (; entry !== undefined; entry = entry.next) n++
  }
  return n
}

// The origin text of `site`, from the cache when its script and position were seen before.
function textOf(site, file, prepare) {
  const position = site.getPosition()
  const script = scriptOf(site)
  let positions = texts.get(file)
  if (positions === undefined) {
    positions = new Map()
    texts.set(file, positions)
  }
  const head = positions.get(position)
  for (let entry = head; entry !== undefined; entry = entry.next) {
    if (entry.script === script) return entry.text
  }
  const text = render(site, file, prepare)
  const entry = { script, text, next: head }
  positions.set(position, entry)
  remember(text, file, position, entry)
  return text
}

// V8's text for the frame, or the app's when it formats frames itself (source-map-support, which
// ts-node installs), or mapped through the source map Node keeps (--enable-source-maps, tsx).
function render(site, file, prepare) {
  let text
  try {
    text = `at ${site}`
  } catch {
    text = `at ${file}:${site.getLineNumber()}:${site.getColumnNumber()}`
  }
  return formattedByApp(site, prepare) ?? mappedByNode(site, file, text) ?? text
}

// The frame as the app's own `Error.prepareStackTrace` renders it, if that renders frames as
// `at ...` lines.
function formattedByApp(site, prepare) {
  if (typeof prepare !== 'function' || prepare === returnCallSites) return undefined
  try {
    const out = Reflect.apply(prepare, Error, [{ name: 'Error', message: '' }, [site]])
    if (typeof out !== 'string') return undefined
    const match = /^\s+at (\S.*)$/.exec(out.slice(out.lastIndexOf('\n') + 1))
    return match === null ? undefined : `at ${match[1]}`
  } catch {
    return undefined
  }
}

function mappedByNode(site, file, text) {
  if (process.sourceMapsEnabled !== true) return undefined
  try {
    const map = findSourceMap(file)
    if (map === undefined) return undefined
    const line = site.getLineNumber()
    const column = site.getColumnNumber()
    const entry = map.findEntry(line - 1, column - 1)
    if (typeof entry?.originalSource !== 'string' || typeof entry.originalLine !== 'number') return undefined
    const source = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : entry.originalSource
    const generated = `${file}:${line}:${column}`
    const original = `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`
    if (text === `at ${generated}`) return `at ${original}`
    if (text.endsWith(`(${generated})`)) return `${text.slice(0, -generated.length - 1)}${original})`
    return undefined
  } catch {
    return undefined
  }
}

// How many frames `track` captures first. One, as long as callers are app code: each captured frame
// costs about 0.5 µs. After a call from library code it is as many as that call needed (up to
// MAX_FIRST), so that a library that tracks for the app takes one capture, not two.
let firstLimit = 1
const MAX_FIRST = 32

function firstFrames() {
  return firstLimit
}

// The origin for a capture made by `track`: `stack` is what capturing `limit` frames above
// `below` gave (CallSites, or anything else when the app's `Error` would not let it be
// structured); `limited` says the app's `Error.stackTraceLimit` could not be set.
function originOf(stack, limit, limited, below, prepare) {
  if (!Array.isArray(stack)) return fallbackOrigin(below)
  const caller = stack[0]
  if (caller !== undefined) {
    const file = fileOf(caller)
    if (file !== undefined && !isLibraryFile(file)) {
      if (firstLimit !== 1) firstLimit = 1
      return textOf(caller, file, prepare)
    }
  }
  return deepOrigin(stack, limit, limited, below, prepare)
}

// The origin of the caller of `below`, captured in a helper frame: for the calls that are not on
// the hot path (`track` does the same in its own frame, which saves about 0.3 µs).
function captureOrigin(below) {
  const limit = firstLimit
  const { sites, prepare, limited } = captureSites(limit, below)
  return originOf(sites, limit, limited, below, prepare)
}

// Library call positions -> how many frames the app's frame lay beneath last time, so that the
// next call from there captures that many at once. Bounded: cleared when it grows past the limit.
const depths = new Map()
const DEPTHS_LIMIT = 1000

// The first frame outside node_modules beneath a library (or Node-internal) caller, or the
// outermost library frame when the whole stack is library code. Captures more frames, 8 times as
// many each time, until the app's frame or the end of the stack is reached.
function deepOrigin(stack, limit, limited, below, prepare) {
  const caller = stack[0]
  const memo = caller === undefined ? undefined : `${caller.getFileName()}\n${caller.getPosition()}`
  let sites = stack
  for (;;) {
    let outermost
    for (let i = 0; i < sites.length; i++) {
      const site = sites[i]
      const file = fileOf(site)
      if (file === undefined) continue
      if (!isLibraryFile(file)) {
        firstLimit = i < MAX_FIRST ? i + 1 : 1
        if (memo !== undefined) {
          if (depths.size >= DEPTHS_LIMIT) depths.clear()
          depths.set(memo, i + 1)
        }
        return textOf(site, file, prepare)
      }
      outermost = site
    }
    if (limited && getCallSites !== null) return fallbackOrigin(below)
    if (sites.length < limit || limited) {
      if (outermost !== undefined) return textOf(outermost, fileOf(outermost), prepare)
      return sites.length > 0 ? `at ${sites[sites.length - 1]}` : UNKNOWN
    }
    limit = Math.max(limit * 8, FIRST_DEEP, depths.get(memo) ?? 0)
    ;({ sites, prepare, limited } = captureSites(limit, below))
    if (sites === null) return fallbackOrigin(below)
  }
}

// Where structured CallSites cannot be had: util.getCallSites() (Node 22.9+), which the app's
// `Error` does not affect, else the stack text the app's set-up formats.
function fallbackOrigin(below) {
  try {
    return getCallSites !== null ? fromCallSiteObjects(getCallSites(200)) : fromStackText(below)
  } catch {
    return UNKNOWN
  }
}

// This package's own frames, which top every stack captured here.
const OWN = [__dirname + path.sep, path.join(__dirname, '..', 'index.js')]

function isOwn(file) {
  return file.startsWith(OWN[0]) || file === OWN[1]
}

function fromCallSiteObjects(frames) {
  let i = 0
  while (i < frames.length && isOwn(frames[i].scriptName)) i++
  let outermost
  for (; i < frames.length; i++) {
    const file = frames[i].scriptName
    if (typeof file !== 'string' || file === '' || file.startsWith('node:')) continue
    outermost = frames[i]
    if (!isLibraryFile(file)) break
  }
  if (outermost === undefined) return UNKNOWN
  const { functionName, scriptName, lineNumber } = outermost
  const where = `${scriptName}:${lineNumber}:${outermost.columnNumber ?? outermost.column}`
  return functionName ? `at ${functionName} (${where})` : `at ${where}`
}

// The app's stack text, read as V8 formats it: `    at name (file:line:column)` or
// `    at file:line:column`.
function fromStackText(below) {
  const holder = {}
  const saved = takeOver(200, true)
  let stack
  try {
    Error.captureStackTrace(holder, below)
    stack = holder.stack
  } finally {
    restore(saved)
  }
  if (typeof stack !== 'string') return UNKNOWN
  let outermost
  for (const line of stack.split('\n')) {
    const match = /^\s+at (\S.*)$/.exec(line)
    if (match === null) continue
    const body = match[1]
    const location = body.endsWith(')') ? body.slice(body.lastIndexOf('(') + 1, -1) : body
    const file = location.replace(/:\d+:\d+$/, '')
    if (file === location || file.startsWith('node:') || file === 'native' || file.includes('<anonymous>')) continue
    outermost = body
    if (!isLibraryFile(file)) break
  }
  return outermost === undefined ? UNKNOWN : `at ${outermost}`
}

module.exports = { takeOver, restore, firstFrames, originOf, captureOrigin, retainOrigin, releaseOrigin, cachedOrigins }
