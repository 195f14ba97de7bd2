'use strict'

// Argument validators, in the manner of Node's lib/internal/validators.js: each throws the error
// of lib/errors.js that Node would throw for the same mistake, with the stack starting at
// `caller`, the public function that refused the call. What an option means (a range worded for
// it, a default) stays with the module that reads it.

const { invalidArgType, outOfRange } = require('./errors.js')

function isObject(value) {
  return typeof value === 'object' && value !== null
}

// An object (not null); with `allowFunction`, a function too. Either way the error says 'object'.
function validateObject(value, name, caller, allowFunction = false) {
  if (!isObject(value) && !(allowFunction && typeof value === 'function')) throw invalidArgType(name, 'object', value, caller)
}

function validateString(value, name, caller) {
  if (typeof value !== 'string') throw invalidArgType(name, 'string', value, caller)
}

function validateFunction(value, name, caller) {
  if (typeof value !== 'function') throw invalidArgType(name, 'function', value, caller)
}

function validateNumber(value, name, caller) {
  if (typeof value !== 'number') throw invalidArgType(name, 'number', value, caller)
}

// A whole number >= `min` (and <= `max`, when given), worded as Node words it.
function validateInteger(value, name, caller, min, max) {
  validateNumber(value, name, caller)
  if (Number.isInteger(value) && value >= min && (max === undefined || value <= max)) return
  throw outOfRange(name, max === undefined ? `an integer >= ${min}` : `>= ${min} && <= ${max}`, value, caller)
}

// `options[name]`, or `fallback` when it is missing: an integer >= `min`, or the Node-style error.
function integerOption(options, name, fallback, min, caller) {
  const value = options[name] ?? fallback
  validateInteger(value, `options.${name}`, caller, min)
  return value
}

module.exports = { isObject, validateObject, validateString, validateFunction, validateNumber, validateInteger, integerOption }
