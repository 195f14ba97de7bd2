'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

// `npm run demo`, without --expose-gc: all three parts run against real servers on 127.0.0.1.
const out = execFileSync(process.execPath, [path.join(__dirname, '../example/http-leak.js'), '--once'], {
  encoding: 'utf8',
  timeout: 60_000,
})

test('the original HTTP example names the leaking line, then shows the counts drop once it is freed', () => {
  const [, leakedJson, freedJson] = out.match(/the line that made them\n(\{[\s\S]*?\n\})\n[\s\S]*freed:\n(\{[\s\S]*?\})\n/)
  const leaked = JSON.parse(leakedJson)
  assert.deepEqual(Object.keys(leaked), ['session'])
  assert.equal(leaked.session._total, 5)
  const origins = Object.keys(leaked.session).filter((k) => k !== '_total')
  assert.equal(origins.length, 1)
  assert.match(origins[0], /^at Server\.requestHandler \(.*http-leak\.js:\d+:\d+\)$/)
  assert.deepEqual(JSON.parse(freedJson), {})
  assert.match(out, /'gc' events: 40\n/)
})

test('under a steady stream of requests, diff() and suspects() name the leaking line and only it', () => {
  assert.match(out, /440 requests served, 44 kept by the audit log/)
  const section = (title) => out.split(title)[1].split('\n\n')[0].trim().split('\n').map((l) => l.trim())
  const diff = section('diff() since the snapshot after warm-up:')
  assert.equal(diff.length, 1, diff.join('\n'))
  assert.match(diff[0], /^\+40 api at audit \(.*http-leak\.js:\d+:\d+\)$/)
  const suspects = section('suspects({ olderThan: 250 }):')
  assert.equal(suspects.length, 1, suspects.join('\n'))
  assert.match(suspects[0], /^44 api at audit \(.*http-leak\.js:\d+:\d+\), oldest \d+ ms$/)
})

test("why() names the module-level array that holds the server's sessions, and the handler that fills it", () => {
  const part = out.split("why('cached-session'): ")[1]
  assert.match(part, /^10 live, 10 explained, 1 path shape\(s\)\n/)
  assert.match(part, /┬─── 10 objects tracked as 'cached-session' at Server\.sessionHandler \(.*http-leak\.js:\d+:\d+\)\n/)
  const R = ' {3}Retaining [\\d.]+ (?:B|KiB|MiB|GiB) in [\\d,]+ objects?'
  assert.match(part, new RegExp(`├─ Server${R}\n│ {4}↓ _events \\(property\\)\n├─ Object${R}\n│ {4}↓ request \\(property\\)\n├─ sessionHandler \\S*http-leak\\.js:\\d+:\\d+ \\(closure\\)${R}\n`), "the handler says where it was written")
  assert.match(part, new RegExp(`│ {4}↓ sessionCache \\(context\\)\n├─ Array${R}\n│ {4}↓ \\[\\d+\\] \\(element\\)\n╰→ Object {3}\\(tracked as 'cached-session'\\)`))
  assert.doesNotMatch(part, /user-\d/, 'no string contents from the heap')
})
