// Types of the hand-written front (index.js). The native part's own types are generated from the
// Rust `///` docs into binding.d.ts by `napi build`; they are internal and not re-exported here.

import { EventEmitter } from 'node:events'

declare namespace weakTracker {
  /** Live counts of one key: `_total`, then one count per origin. */
  type KeyRefs = { _total: number } & { [origin: string]: number }

  /** Live counts per key, then per origin, e.g.
   * `{ leaker: { _total: 5, 'at Server.handler (/app/server.js:17:9)': 5 } }`. */
  type Refs = { [key: string]: KeyRefs }

  /** A listener for `'gc'` and `'ref'`: the key an object was tracked under and its origin, the
   * trimmed stack line of the code that tracked it. */
  type Listener = (key: string, origin: string) => void

  interface WeakTracker extends EventEmitter {
    /**
     * Counts `obj` as live under `key` and its origin: the stack line of the first caller frame
     * outside `node_modules` (or the outermost frame, when every one is inside). Never keeps `obj`
     * alive; the same object tracked twice counts twice. Emits `'ref'`.
     *
     * @throws {TypeError} `code: 'ERR_INVALID_ARG_TYPE'` when `key` is not a string or `obj` is not
     * an object or function; nothing is recorded then.
     */
    track(key: string, obj: object): void

    /** Live tracked objects per key and origin; exact right after `global.gc()`. A new object on
     * every read. */
    readonly refs: Refs

    /** A tracked object was freed by the garbage collector. Emitted once per object, after the
     * collection, in the thread that tracked it. */
    on(event: 'gc', listener: Listener): this
    /** `track()` counted an object. Emitted synchronously. */
    on(event: 'ref', listener: Listener): this
    on(event: string | symbol, listener: (...args: any[]) => void): this
    once(event: 'gc' | 'ref', listener: Listener): this
    once(event: string | symbol, listener: (...args: any[]) => void): this
    addListener(event: 'gc' | 'ref', listener: Listener): this
    addListener(event: string | symbol, listener: (...args: any[]) => void): this
    prependListener(event: 'gc' | 'ref', listener: Listener): this
    prependListener(event: string | symbol, listener: (...args: any[]) => void): this
    off(event: 'gc' | 'ref', listener: Listener): this
    off(event: string | symbol, listener: (...args: any[]) => void): this
    emit(event: 'gc' | 'ref', key: string, origin: string): boolean
    emit(event: string | symbol, ...args: any[]): boolean
  }

  interface WeakTrackerConstructor {
    /** A new tracker, independent of the shared one. */
    (): WeakTracker
    /** A new tracker, independent of the shared one. */
    new (): WeakTracker
    readonly prototype: WeakTracker
  }

  /** Makes independent trackers, with or without `new`. */
  const WeakTracker: WeakTrackerConstructor
}

/** The tracker shared by all code in this thread. */
declare function weakTracker(): weakTracker.WeakTracker

export = weakTracker
