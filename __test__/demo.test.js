'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

test('the HTTP demo names the leaking line, then shows the counts drop once the leak is freed', () => {
  const out = execFileSync(process.execPath, ['--expose-gc', path.join(__dirname, '../example/http-leak.js')], {
    encoding: 'utf8',
    timeout: 60_000,
  })
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
