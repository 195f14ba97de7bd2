'use strict'

// A full garbage collection, reached whatever flags Node was started with. No V8 flag is changed:
// flipping --expose-gc at run time aborts the process under --freeze-flags-after-init, and races
// with other threads that create contexts meanwhile. The in-process inspector's
// `HeapProfiler.collectGarbage` is V8's own full collection for DevTools' "Collect garbage" button;
// it needs no flag, works in worker threads, and answers asynchronously. `gc()` from --expose-gc
// is the fallback where Node was built without the inspector or the permission model hides it.

let inspector
try {
  inspector = require('node:inspector')
} catch {
  inspector = null
}

// A connected session for this thread, or null where the inspector is unavailable.
function connect() {
  if (inspector === null) return null
  try {
    const session = new inspector.Session()
    session.connect()
    return session
  } catch {
    return null
  }
}

function post(session, method) {
  return new Promise((resolve, reject) => {
    session.post(method, (error) => (error ? reject(error) : resolve()))
  })
}

function noGarbageCollector() {
  const error = new Error(
    'weak-tracker cannot force a garbage collection here: node:inspector is not available in this ' +
      'process and Node.js was not started with --expose-gc. Start it with --expose-gc to use collect().',
  )
  error.code = 'ERR_WEAK_TRACKER_NO_GC'
  return error
}

// Runs `rounds` full collections, each followed by one turn of the event loop (finalizers run in
// the setImmediate phase).
async function collectGarbage(rounds) {
  const session = connect()
  try {
    for (let i = 0; i < rounds; i++) {
      if (session !== null) await post(session, 'HeapProfiler.collectGarbage')
      else if (typeof globalThis.gc === 'function') globalThis.gc()
      else throw noGarbageCollector()
      await new Promise(setImmediate)
    }
  } finally {
    session?.disconnect()
  }
}

module.exports = { collectGarbage }
