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

  /** A frozen copy of `refs` and the time it was taken. */
  interface Snapshot {
    /** When the snapshot was taken, in milliseconds since the epoch (`Date.now()`). */
    readonly time: number
    readonly refs: { readonly [key: string]: Readonly<KeyRefs> }
  }

  /** One (key, origin) whose live count differs between two snapshots. */
  interface Change {
    key: string
    origin: string
    before: number
    after: number
    /** `after - before`: positive for growth. */
    delta: number
  }

  interface SuspectsOptions {
    /** Only objects tracked more than this many milliseconds ago count. Default: `10000`. */
    olderThan?: number
  }

  interface RetainedOptions {
    /** Only objects expected gone at least this many milliseconds ago. Default: `5000`. */
    olderThan?: number
  }

  /** Live objects of one (key, origin) that are older than asked. */
  interface Suspect {
    key: string
    origin: string
    /** How many of them there are. */
    count: number
    /** Age of the oldest, in milliseconds (to 10 ms). */
    oldestMs: number
  }

  interface WhyOptions {
    /** Only objects tracked from this origin (a stack line as `refs` shows it). Default: every origin. */
    origin?: string
    /** How many live objects to explain per (key, origin), a positive integer. Default: `20`. */
    limit?: number
  }

  /** One node of a retainer path and the reference that leads into it. */
  interface PathStep {
    /** The node's name as V8's snapshot gives it: a class name, `Array`, a function name,
     * `system / Context`... (never the contents of a string or a number: those show as
     * `(string)`, `(number)`). */
    node: string
    /** The snapshot's node type: `object`, `array`, `closure`, `hidden`, `synthetic`, `native`... */
    nodeType: string
    /** The name of the reference from the previous node: a property or variable name, or
     * `[index]`. */
    edge: string
    /** The reference's type: `property`, `element`, `context`, `internal`, `hidden`, `shortcut`. */
    edgeType: string
    /** For a WeakMap value: the key it is stored under, which must be alive too for the map to
     * hold the value. */
    key?: { node: string; nodeType: string }
    /** The bytes that would be freed if this node went: its own and those of every object only
     * it keeps alive (its dominator subtree, over the same references as the paths). */
    retainedSize?: number
    /** How many objects that is, itself included. */
    retainedCount?: number
    /** Present only on a chain (a linked list's `next`, promise reactions, a timer list, nested
     * contexts): this step (with the `repeatSteps - 1` after it) repeats this many times in a row
     * along the path and is given once. Always > 1. */
    repeat?: number
    /** With `repeat`, when the unit that repeats is more than one step: how many steps it is. */
    repeatSteps?: number
    /** A marker (`nodeType` and `edgeType` `'omitted'`) in place of this many steps of a path too
     * long to show that has no chain to fold. */
    omitted?: number
  }

  /** Retainer paths of one shape (the same node and edge names, indices aside, and however many
   * times a chain repeats). */
  interface RetainerPath {
    /** How many of the explained objects are held along a path of this shape. */
    count: number
    /** From the GC root to the tracked object: the longest of the paths of this shape (its chains
     * folded into steps with `repeat`), at most 16 steps. */
    steps: PathStep[]
    /** The path for people, as a LeakCanary-style leak trace: holders say what they retain
     * (`Retaining 2.6 MB in 10,000 objects`), a chain is one line (`× 9,998`); at most 40 lines. */
    text: string
  }

  /** What holds the live objects of one (key, origin). */
  interface Why {
    key: string
    origin: string
    /** Live objects of this key and origin right after the snapshot. */
    live: number
    /** How many objects were explained: the (at most `limit`) with the shortest paths from a GC
     * root. */
    explained: number
    /** Path shapes, most common first. The whole result stays within 256 KiB of JSON: when the
     * explained objects have too many different shapes, the least common are left out. */
    paths: RetainerPath[]
  }

  interface PageOptions {
    /** Default: `0`, any free port. */
    port?: number
    /** Default: `'127.0.0.1'`. Any address beyond loopback needs `token`. Without a token the page
     * answers only requests whose Host is this name, `localhost` or a loopback address. */
    host?: string
    /** At least 16 characters (`''` is refused with `ERR_INVALID_ARG_VALUE`). Every request must
     * then carry it: the page's address (`url`, with `?token=`) trades it for an HttpOnly,
     * SameSite=Strict cookie and redirects to itself without it; scripts may send
     * `Authorization: Bearer <token>`. Default: none (loopback only). */
    token?: string
  }

  interface Page {
    /** The page's address (with `?token=` when there is one). */
    url: string
    close(): Promise<void>
  }

  interface PageHandlerOptions {
    /** Where the page is mounted in a plain `node:http` server, e.g. `'/leaks'`: it owns `/leaks`
     * (redirected to `/leaks/`) and `/leaks/…`, nothing else. Must start with `/`. Default: `''`
     * (under Express's `app.use('/leaks', ...)`, which strips the mount path). */
    prefix?: string
    /** As in `serve()`. Default: none: then only requests to `localhost`, a loopback address or
     * the address they came in on are answered. */
    token?: string
  }

  /** An `(req, res[, next])` handler; requests outside the page go to `next()` (or get 404). */
  interface PageHandler {
    (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, next?: () => void): void
    /** Ends the page's event streams and stops sampling for it. */
    close(): void
  }

  interface WeakTracker extends EventEmitter {
    /**
     * Counts `obj` as live under `key` and its origin: the stack line of the first caller frame
     * outside `node_modules` (or the outermost frame, when every one is inside). Never keeps `obj`
     * alive; the same object tracked twice counts twice. Emits `'ref'`. With `sample` below 1,
     * only that fraction of calls is recorded; the others return at once, counting nothing and
     * emitting nothing.
     *
     * @throws {TypeError} `code: 'ERR_INVALID_ARG_TYPE'` when `key` is not a string or `obj` is not
     * an object or function; nothing is recorded then.
     */
    track(key: string, obj: object): void

    /**
     * Counts `obj` like `track()` (same origin rule, `'ref'` event and errors), and remembers it
     * as expected to become garbage from now on: `retained()` lists it while it lives.
     */
    expectCollected(key: string, obj: object): void

    /**
     * After bringing counts up to date, the objects given to `expectCollected()` at least
     * `olderThan` milliseconds ago that are still alive, per key and origin, most first. Exact
     * right after `collect()` or `global.gc()`.
     */
    retained(options?: RetainedOptions): Suspect[]

    /** Live tracked objects per key and origin; exact right after `global.gc()`. A new object on
     * every read. */
    readonly refs: Refs

    /**
     * Forces full garbage collections (two), even when Node was started without `--expose-gc`
     * (and without exposing `gc` to anyone else), then resolves once every `'gc'` event they
     * caused has been emitted, so that `refs` and the events agree.
     */
    collect(): Promise<void>

    /** A frozen copy of the current counts and the time it was taken. */
    snapshot(): Snapshot

    /**
     * Every (key, origin) whose count differs between `before` and `after`, largest growth first.
     * @param after Default: a snapshot taken now.
     */
    diff(before: Snapshot, after?: Snapshot): Change[]

    /**
     * Live objects tracked more than `olderThan` milliseconds ago, per key and origin, most first.
     * The likely leaks: objects that should have been short-lived and are not.
     */
    suspects(options?: SuspectsOptions): Suspect[]

    /**
     * What keeps the live objects of `key` alive: per origin with live objects (most live first),
     * the shortest retainer paths of up to `limit` of them, from a heap snapshot of this thread,
     * grouped by shape. Pauses the thread while V8 takes the snapshot. Holds no tracked object
     * afterwards; writes nothing to disk.
     *
     * Rejects with `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` on bad arguments, and with
     * `ERR_WEAK_TRACKER_NO_MEMORY` when the snapshot would not fit in the memory available.
     */
    why(key: string, options?: WhyOptions): Promise<Why[]>

    /**
     * Starts the live page: counts per key, origin and thread over the last 15 minutes, suspects,
     * retained objects, a diff against a baseline, and a why button per row.
     * Rejects with `ERR_WEAK_TRACKER_PAGE_UNSAFE` for a host beyond loopback without a token.
     */
    serve(options?: PageOptions): Promise<Page>

    /** The live page as a handler for an existing server. */
    pageHandler(options?: PageHandlerOptions): PageHandler

    /** A tracked object was freed by the garbage collector. Emitted once per object, after the
     * collection, in the thread that tracked it. */
    on(event: 'gc', listener: Listener): this
    /** `track()` or `expectCollected()` counted an object. Emitted synchronously. */
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

  interface TrackerOptions {
    /** The fraction of `track()` calls to record, in (0, 1]; the others return without capturing
     * a stack. `refs`, events, metrics and `processRefs()` count recorded objects only. Default: `1`. */
    sample?: number
  }

  interface WeakTrackerConstructor {
    /** A new tracker, independent of the shared one. */
    (options?: TrackerOptions): WeakTracker
    /** A new tracker, independent of the shared one. */
    new (options?: TrackerOptions): WeakTracker
    readonly prototype: WeakTracker
  }

  /** The live counts of every tracker of every thread of the process (main thread and live
   * workers), merged per key and origin. An object is counted once `track()` has returned, in any
   * thread; a free shows after that thread's sweep: at its next turn after the collection, or when
   * it reads `refs`, `processRefs()` or `metrics()` (this thread's frees therefore show at once). */
  function processRefs(): Refs

  /** The process-wide figures in the OpenMetrics text format, ending with `# EOF`; counted as
   * `processRefs()` counts. */
  function metrics(): string

  /** The content type of `metrics()`: `application/openmetrics-text; version=1.0.0; charset=utf-8`. */
  const metricsContentType: string

  /** Makes independent trackers, with or without `new`. */
  const WeakTracker: WeakTrackerConstructor
}

/** The tracker shared by all code in this thread, made on first use; `weak-tracker/assert`
 * checks it unless given another. */
declare function weakTracker(): weakTracker.WeakTracker

export = weakTracker
