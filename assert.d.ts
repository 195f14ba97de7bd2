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

  interface NoGrowthOptions {
    /** Calls before V8 starts tracking allocations (lazy caches fill). Default: `3`. */
    warmup?: number
    /** Calls under tracking; a group of new live objects fails when it has at least one object per
     * call. Default: `10`. */
    iterations?: number
    /** When given, a group fails only when it retains at least this many bytes per iteration
     * (instead of one object per iteration). Default: not set. */
    bytes?: number
    /** How long, in milliseconds, to keep collecting and re-checking while groups still look
     * grown, so that what timers, sockets and promises hold for a moment is let go. Default: `1000`. */
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
  /**
   * Needs no `track()`. Calls `fn` `warmup` times, collects, then calls it `iterations` times while
   * V8 tracks allocations, and takes a heap snapshot of this thread (streamed into the native
   * decoder, never held in the JavaScript heap nor written to disk). Rejects with an
   * `AssertionError` (`code: 'ERR_ASSERTION'`) when a group of objects created meanwhile (by class
   * and allocating function, or path shape) is still alive with at least one object (or `bytes`)
   * per iteration after up to `settleMs` of collections; the message gives, per group, the count
   * and retained bytes per iteration, the allocating functions (innermost app frame first) and the
   * retainer path. Groups allocated only by Node's own code (`node:` scripts, undici) or held in
   * Node's bounded buffers (performance entries) are listed apart and never fail the check. The
   * thread stops while each snapshot is taken.
   */
  assertNoGrowth(fn: () => unknown, options?: leakChecks.NoGrowthOptions): Promise<void>
}

export = leakChecks
