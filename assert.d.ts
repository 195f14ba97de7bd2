// Types of weak-tracker/assert (lib/assert.js): leak checks for tests.

import weakTracker = require('./index.js')

declare namespace leakChecks {
  interface CommonOptions {
    /** The tracker whose counts are checked. Default: the shared one, `require('weak-tracker')()`. */
    tracker?: weakTracker.WeakTracker
    /** How long, in milliseconds, to keep collecting while objects still look leaked, so that what
     * sockets, timers and promises hold for a moment is waited out. Default: `1000`. */
    settleMs?: number
  }

  interface NoLeaksOptions extends CommonOptions {
    /** Calls before the counts are taken. Default: `5`. */
    warmup?: number
    /** Calls whose objects must all be collected again. Default: `20`. */
    iterations?: number
    /** How many more live objects per key and origin are allowed. Default: `0`. */
    tolerance?: number
  }
}

declare const leakChecks: {
  /**
   * Calls `fn` `warmup` times, forces a full collection, takes the counts, calls `fn`
   * `iterations` times, collects again (for up to `settleMs` while counts still look grown), and
   * rejects with an `AssertionError` (`code: 'ERR_ASSERTION'`) naming each key and origin that grew
   * by more than `tolerance`, with the retainer path that holds its objects. Rejects too when `fn`
   * tracked no object in all its calls: there was nothing to check.
   */
  assertNoLeaks(fn: () => unknown, options?: leakChecks.NoLeaksOptions): Promise<void>
  /**
   * Forces full collections (for up to `settleMs` while objects still look retained) and rejects
   * with an `AssertionError` when any object given to `expectCollected()` is still alive, naming
   * key, origin, count and retainer path.
   */
  assertCollected(options?: leakChecks.CommonOptions): Promise<void>
}

export = leakChecks
