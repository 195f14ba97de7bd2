'use strict'

// Runs the core test suite (node --expose-gc --test __test__/*.test.js, not the integration tests)
// with another Node binary: every supported major (scripts/compat.js) and arm64 under qemu
// (scripts/arm64.js). Returns the pass/fail counts; throws with the failing tests' lines if any fail.

const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const root = path.join(__dirname, '..')

function suiteFiles() {
  return fs
    .readdirSync(path.join(root, '__test__'))
    .filter((f) => f.endsWith('.test.js'))
    .map((f) => path.join(root, '__test__', f))
}

function runSuite(binary, env = {}, files = suiteFiles()) {
  const run = spawnSync(binary, ['--expose-gc', '--test', ...files.map((f) => path.relative(root, f))], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    env: { ...process.env, ...env, PATH: `${path.dirname(binary)}${path.delimiter}${process.env.PATH}` },
  })
  const counts = (run.stdout.match(/^(?:# |ℹ )(?:pass|fail|skipped) \d+$/gm) ?? []).map((l) => l.slice(2)).join(', ')
  if (run.status !== 0) {
    process.stdout.write(run.stdout.split('\n').filter((l) => /^not ok|^\s+(error|expected|actual|signal):|qemu:/.test(l)).join('\n') + '\n')
    throw new Error(`test suite failed (${counts || run.error?.message || `exit ${run.status}`})`)
  }
  return counts
}

module.exports = { runSuite, suiteFiles }
