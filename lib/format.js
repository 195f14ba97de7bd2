'use strict'

// Numbers as every report prints them (why() texts, the commands, the zero-code report): counts
// with thousands separators, bytes in binary units (a share per iteration rounds to whole bytes) (`980 B`, `12.3 KiB`, `4.00 MiB`, `1.20 GiB`).

function count(n) {
  return n.toLocaleString('en-US')
}

function bytes(n) {
  const sign = n < 0 ? '-' : ''
  let value = Math.abs(n)
  if (value < 1024) return `${sign}${Math.round(value)} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  value /= 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${sign}${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`
}

module.exports = { count, bytes }
