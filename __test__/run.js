'use strict'

// `npm test`'s Node half: every core and integration test file, under --expose-gc, several files at
// a time where the running Node can (`--test-concurrency`, Node 20.10 and later; the default runs
// one file at a time on a 2-core machine, while most files wait on child processes and snapshots).

const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const files = ['.', 'integration']
  .flatMap((dir) =>
    fs
      .readdirSync(path.join(__dirname, dir))
      .filter((name) => name.endsWith('.test.js'))
      .map((name) => path.join(__dirname, dir, name)),
  )
  .sort()

const args = ['--expose-gc', '--test']
if (process.allowedNodeEnvironmentFlags.has('--test-concurrency')) args.push('--test-concurrency=3')
const { status, signal } = spawnSync(process.execPath, [...args, ...files], { stdio: 'inherit' })
process.exitCode = signal === null ? status : 1
