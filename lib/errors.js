'use strict'

// Errors in Node's own form (lib/internal/errors.js): the same codes, classes and wording, with the
// stack starting at the caller of the public function that refused the call. The common checks
// that throw them are in lib/validate.js.

const { inspect } = require('node:util')

function describeReceived(value) {
  if (value == null) return String(value)
  if (typeof value === 'function' && value.name) return `function ${value.name}`
  if (typeof value === 'object') {
    if (value.constructor?.name) return `an instance of ${value.constructor.name}`
    return inspect(value, { depth: -1 })
  }
  let inspected
  if (typeof value === 'string') {
    inspected = inspect(value.length > 28 ? `${value.slice(0, 25)}...` : value, { colors: false })
  } else {
    inspected = inspect(value, { colors: false })
    if (inspected.length > 28) inspected = `${inspected.slice(0, 25)}...`
  }
  return `type ${typeof value} (${inspected})`
}

// ERR_INVALID_ARG_TYPE. A dotted name is a property of an argument, as Node words it.
function invalidArgType(name, expected, value, caller) {
  const what = name.includes('.') ? 'property' : 'argument'
  const error = new TypeError(`The "${name}" ${what} must be of type ${expected}. Received ${describeReceived(value)}`)
  error.code = 'ERR_INVALID_ARG_TYPE'
  Error.captureStackTrace(error, caller)
  return error
}

function outOfRange(name, range, value, caller) {
  const error = new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${inspect(value)}`)
  error.code = 'ERR_OUT_OF_RANGE'
  Error.captureStackTrace(error, caller)
  return error
}

// ERR_INVALID_ARG_VALUE, worded as Node words it: `The property 'options.token' must not be empty.`
function invalidArgValue(name, value, reason, caller) {
  const what = name.includes('.') ? 'property' : 'argument'
  const error = new TypeError(`The ${what} '${name}' ${reason}. Received ${inspect(value)}`)
  error.code = 'ERR_INVALID_ARG_VALUE'
  Error.captureStackTrace(error, caller)
  return error
}

module.exports = { invalidArgType, outOfRange, invalidArgValue }
