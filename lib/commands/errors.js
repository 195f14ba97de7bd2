'use strict'

const { parseArgs } = require('node:util')

// How a command says what went wrong: it throws one of these, and bin/weak-tracker.js prints the
// message as one line on stderr (`weak-tracker: ...`) and exits with its code: 1 for bad input (a
// file that is missing or not a snapshot), 2 for a usage error (the command's usage follows).

function inputError(message) {
  const error = new Error(message)
  error.exitCode = 1
  return error
}

function usageError(message) {
  const error = new Error(message)
  error.exitCode = 2
  return error
}

// The command's options and positionals (`util.parseArgs`, positionals allowed); an unknown or
// malformed option is a usage error.
function parseCommandArgs(argv, options) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options })
  } catch (error) {
    throw usageError(error.message)
  }
}

module.exports = { inputError, usageError, parseCommandArgs }
