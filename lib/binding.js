'use strict'

// Loads the native part through the loader that `napi build` generates (../binding.js), and says
// plainly why it could not: addons switched off, or no binary for this platform.

const { PLATFORMS, platformName } = require('./platform.js')

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

// Why no binary loaded: its package is missing, or it is there and the system refused it (a
// damaged file, an older glibc than it needs...), or no package exists for this platform.
function noBinaryMessage(target, runtime) {
  if (!PLATFORMS.includes(target)) {
    return (
      `weak-tracker has no native binary for ${target} (${runtime}). Prebuilt packages exist for ` +
      `${PLATFORMS.join(', ')}; elsewhere build it from source with Rust: clone the repository, then \`npm install\`.`
    )
  }
  const name = `weak-tracker-${target}`
  let failure
  try {
    require(name)
  } catch (error) {
    failure = error
  }
  if (failure?.code === 'MODULE_NOT_FOUND' && String(failure.message).includes(`'${name}'`)) {
    return (
      `weak-tracker could not load its native binary for ${target} (${runtime}): the package ${name} ` +
      'should have come with it as an optional dependency. Reinstall without --omit=optional (or --no-optional), ' +
      'and without a lockfile or node_modules made on another platform.'
    )
  }
  return `weak-tracker could not load its native binary for ${target} (${runtime}) from ${name}: ${failure?.message ?? 'see the cause'}`
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
    const target = platformName()
    const runtime = `Node.js ${process.version}, Node-API ${process.versions.napi}`
    const error = new Error(noBinaryMessage(target, runtime), { cause })
    error.code = 'ERR_WEAK_TRACKER_NO_BINARY'
    throw error
  }
}

module.exports = loadBinding()
