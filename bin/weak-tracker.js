#!/usr/bin/env node
'use strict'

// weak-tracker <command> [options]: a dispatcher over lib/commands/<name>.js, each of which exports
// `{ usage, run(argv) }`. `run` returns the exit code (or a promise of it) and throws an error from
// lib/commands/errors.js for bad input (exit 1) or bad usage (exit 2); either is one line on
// stderr, and a usage error is followed by the command's usage line.

const COMMANDS = {
  why: '../lib/commands/why.js',
  top: '../lib/commands/top.js',
  growth: '../lib/commands/growth.js',
  attach: '../lib/commands/attach.js',
}

const USAGE = `usage: weak-tracker <command> [options]

commands:
${Object.keys(COMMANDS)
  .map((name) => `  ${name}`)
  .join('\n')}

weak-tracker <command> --help tells more.`

function fail(message, code) {
  process.stderr.write(`weak-tracker: ${message}\n`)
  process.exitCode = code
}

async function main(argv) {
  const [name, ...rest] = argv
  if (name === '--help' || name === '-h') {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  if (name === undefined) return fail(`a command is required\n${USAGE}`, 2)
  if (!Object.hasOwn(COMMANDS, name)) return fail(`unknown command ${JSON.stringify(name)}\n${USAGE}`, 2)
  const command = require(COMMANDS[name])
  try {
    process.exitCode = (await command.run(rest)) ?? 0
  } catch (error) {
    if (error?.exitCode === 2) return fail(`${error.message}\n${command.usage.split('\n')[0]}`, 2)
    if (error?.exitCode === 1) return fail(error.message, 1)
    fail(String(error?.message ?? error).split('\n')[0], 1)
  }
}

main(process.argv.slice(2))
