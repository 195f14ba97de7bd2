'use strict'

// A panic in native code must not abort the app: every Node-API function of the addon catches it
// and throws it as a JavaScript error instead. Run in a child process, which a regression would
// abort, and whose stderr gets Rust's panic message.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

test('a panic inside a native function throws a JavaScript Error, and the process goes on', () => {
  const binding = path.join(__dirname, '..', 'binding.js')
  const script = `
    const native = require(${JSON.stringify(binding)})
    try {
      native.panicProbe()
      process.stdout.write('no error')
    } catch (error) {
      process.stdout.write(JSON.stringify({ type: error.constructor.name, message: error.message }))
    }
    const wt = require(${JSON.stringify(path.join(__dirname, '..'))})()
    wt.track('after', {})
    process.stdout.write(' still running')
  `
  const out = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 })
  assert.equal(out.signal, null, `killed by ${out.signal}: ${out.stderr}`)
  assert.equal(out.status, 0, out.stderr)
  assert.equal(out.stdout, `${JSON.stringify({ type: 'Error', message: 'weak-tracker: panic probe' })} still running`)
})
