'use strict'

// A panic in a #[napi] function without `catch_unwind` unwinds into Node-API's C frames and aborts
// the app (panic.test.js shows the caught case). No such function can be made to panic from
// JavaScript on purpose, so the guard is read from the source: every #[napi] function of src/
// declares `catch_unwind`.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const src = path.join(__dirname, '..', 'src')

function rustFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return rustFiles(full)
    return entry.name.endsWith('.rs') ? [full] : []
  })
}

// The index just past the `]` that closes the attribute opened at `start`, skipping brackets and
// parentheses inside string literals (a `ts_args_type` may hold some).
function attributeEnd(text, start) {
  let depth = 0
  for (let i = start; i < text.length; i++) {
    const c = text[i]
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++
    } else if (c === '[' || c === '(') depth++
    else if (c === ']' || c === ')') {
      depth--
      if (depth === 0) return i + 1
    }
  }
  return text.length
}

// Every #[napi] item of `text` that is a function: its name and the attribute's text.
function napiFunctions(text) {
  const found = []
  for (const match of text.matchAll(/#\[napi\b/g)) {
    const end = attributeEnd(text, match.index + 1)
    const attribute = text.slice(match.index, end)
    // What the attribute is on: past doc comments and other attributes.
    let rest = text.slice(end)
    for (;;) {
      const skipped = rest.replace(/^\s*(?:\/\/[^\n]*\n|#\[[^\]]*\])/, '')
      if (skipped === rest) break
      rest = skipped
    }
    const item = /^\s*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?fn\s+(\w+)/.exec(rest)
    if (item !== null) found.push({ name: item[1], attribute })
  }
  return found
}

test('the source reader finds #[napi] functions, with and without catch_unwind', () => {
  const sample = [
    '#[napi]',
    'pub fn plain() {}',
    '#[napi(object)]',
    'pub struct Shape {}',
    '#[napi(',
    '    catch_unwind,',
    '    ts_args_type = "f: (x: [number]) => void"',
    ')]',
    '/// Docs.',
    'pub fn guarded() {}',
  ].join('\n')
  assert.deepEqual(
    napiFunctions(sample).map(({ name, attribute }) => [name, /\bcatch_unwind\b/.test(attribute)]),
    [
      ['plain', false],
      ['guarded', true],
    ],
  )
})

test('every #[napi] function of src/ catches panics and throws them instead of aborting', () => {
  const unguarded = []
  let count = 0
  for (const file of rustFiles(src)) {
    for (const { name, attribute } of napiFunctions(fs.readFileSync(file, 'utf8'))) {
      count++
      if (!/\bcatch_unwind\b/.test(attribute)) unguarded.push(`${path.relative(src, file)}: ${name}`)
    }
  }
  assert.ok(count >= 20, `only ${count} #[napi] functions found`)
  assert.deepEqual(unguarded, [])
})
