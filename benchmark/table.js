'use strict'

// What every benchmark runner prints with: medians over processes, numbers as the README shows
// them, and the verdict on a target.

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const fmt = (x, digits = 0) => x.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const ratio = (a, b) => `${fmt(a / b, 2)}×`
const met = (ok) => (ok ? 'met' : 'not met')

module.exports = { median, fmt, ratio, met }
