'use strict'

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

module.exports = { inputError, usageError }
