'use strict'

// Loads the native part through the loader that `napi build` generates (../binding.js), and says
// plainly why it could not: addons switched off, or no binary for this platform.

const ADDONS_OFF = new Set(['ERR_DLOPEN_DISABLED', 'ERR_ACCESS_DENIED'])

// The first error in `cause`'s chain (napi-rs gathers one error per candidate file, as an array)
// whose code says that this process may not load addons at all.
function addonsRefused(cause, seen = new Set()) {
  if (cause === null || typeof cause !== 'object' || seen.has(cause)) return undefined
  seen.add(cause)
  if (ADDONS_OFF.has(cause.code)) return cause
  if (Array.isArray(cause)) {
    for (const each of cause) {
      const found = addonsRefused(each, seen)
      if (found !== undefined) return found
    }
    return undefined
  }
  return addonsRefused(cause.cause, seen)
}

function loadBinding() {
  try {
    return require('../binding.js')
  } catch (cause) {
    const refused = addonsRefused(cause)
    if (refused !== undefined) {
      const error = new Error(
        `weak-tracker is a native addon, and this process may not load native addons (${refused.code}: ` +
          `${refused.message}). Run Node.js without --no-addons, or with --allow-addons under the permission model.`,
        { cause },
      )
      error.code = refused.code
      throw error
    }
    const libc = process.platform === 'linux' ? (process.report?.getReport().header.glibcVersionRuntime ? '-gnu' : '-musl') : ''
    const target = `${process.platform}-${process.arch}${libc}`
    const runtime = `Node.js ${process.version}, Node-API ${process.versions.napi}`
    const message =
      target === 'linux-x64-gnu'
        ? `weak-tracker could not load its native binary for ${target} (${runtime}): reinstall the package, or rebuild it with \`npm run build\`.`
        : `weak-tracker has no native binary for ${target} (${runtime}). The package ships a prebuilt binary ` +
          'for linux-x64-gnu only; on other platforms build it from source with Rust: clone the repository, then `npm install`.'
    const error = new Error(message, { cause })
    error.code = 'ERR_WEAK_TRACKER_NO_BINARY'
    throw error
  }
}

module.exports = loadBinding()
