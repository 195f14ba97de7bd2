'use strict'

// Platforms in napi-rs's naming (linux-arm64-musl, darwin-x64, win32-x64-msvc...): this process's
// own, and those with a prebuilt package, weak-tracker-<platform> (scripts/cross.js builds them).

const PLATFORMS = ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'linux-arm64-musl', 'darwin-x64', 'darwin-arm64', 'win32-x64-msvc']

function platformName() {
  let abi = ''
  if (process.platform === 'linux') abi = process.report?.getReport().header.glibcVersionRuntime ? '-gnu' : '-musl'
  else if (process.platform === 'win32') abi = process.config?.variables?.shlib_suffix === 'dll.a' ? '-gnu' : '-msvc'
  return `${process.platform}-${process.arch}${abi}`
}

module.exports = { PLATFORMS, platformName }
