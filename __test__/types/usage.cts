// Type-checked by types.test.js with tsc --strict: every use of the API from CommonJS. A wrong
// or missing type makes tsc fail, and so does an `@ts-expect-error` that no longer errs.
import weakTracker = require('../..')
import { EventEmitter } from 'node:events'
import leakChecks = require('../../assert')
import prometheus = require('../../prometheus')
import { Registry } from 'prom-client'

const wt: weakTracker.WeakTracker = weakTracker()
const independent = weakTracker.WeakTracker()
const constructed = new weakTracker.WeakTracker()
const emitter: EventEmitter = independent
const isTracker: boolean = constructed instanceof weakTracker.WeakTracker

// `true` only for `any`: listeners' parameters must be typed, not just accepted.
type IsAny<T> = 0 extends 1 & T ? true : false
wt.on('gc', (key, origin) => {
  const typedKey: IsAny<typeof key> = false
  const k: string = key
  const o: string = origin
  void [typedKey, k, o]
})
wt.once('ref', (key: string, origin: string) => void [key, origin]).off('gc', () => {})
wt.track('leaker', {})
wt.track('fn', () => {})

const refs: weakTracker.Refs = wt.refs
for (const [key, byOrigin] of Object.entries(wt.refs)) {
  const total: number = byOrigin._total
  const some: number | undefined = wt.refs[key]?.['at f (/a.js:1:1)']
  void [total, some]
}

// @ts-expect-error a key must be a string
wt.track(42, {})
// @ts-expect-error obj must be an object
wt.track('k', 42)
// @ts-expect-error both arguments are required
wt.track('k')
// @ts-expect-error refs is read-only
wt.refs = {}

async function explain(): Promise<void> {
  const found: weakTracker.Why[] = await wt.why('leaker', { origin: 'at f (/a.js:1:1)', limit: 5 })
  for (const site of found) {
    const first: weakTracker.PathStep | undefined = site.paths[0]?.steps[0]
    const text: string = site.paths[0]?.text ?? ''
    const live: number = site.live + site.explained
    void [first?.node, first?.edgeType, text, live]
  }
  // @ts-expect-error the key must be a string
  await wt.why(1)
  // @ts-expect-error limit is a number
  await wt.why('k', { limit: '5' })
}

async function production(): Promise<void> {
  const sampled = weakTracker.WeakTracker({ sample: 0.01 })
  sampled.expectCollected('conn', {})
  const retained: weakTracker.Suspect[] = sampled.retained({ olderThan: 0 })
  const all: weakTracker.Refs = weakTracker.processRefs()
  const text: string = weakTracker.metrics()
  const type: string = weakTracker.metricsContentType
  const registry: Registry = prometheus.register(new Registry())
  await leakChecks.assertNoLeaks(() => {}, { warmup: 1, iterations: 2, tolerance: 0, settleMs: 10, tracker: sampled })
  await leakChecks.assertCollected({ tracker: sampled })
  // @ts-expect-error sample is a number
  weakTracker.WeakTracker({ sample: 'all' })
  // @ts-expect-error fn must be a function
  await leakChecks.assertNoLeaks(42)
  const page: weakTracker.Page = await sampled.serve({ port: 0, host: '127.0.0.1', token: 'x'.repeat(16) })
  const handler: weakTracker.PageHandler = sampled.pageHandler({ prefix: '/leaks' })
  handler.close()
  await page.close()
  void [retained, all, text, type, registry]
}

void [emitter, isTracker, refs, explain, production]

async function leakHunt(): Promise<void> {
  await wt.collect()
  const before: weakTracker.Snapshot = wt.snapshot()
  const when: number = before.time
  const changes: weakTracker.Change[] = wt.diff(before)
  const explicit = wt.diff(before, wt.snapshot())
  for (const { key, origin, before: b, after: a, delta } of [...changes, ...explicit]) {
    const line: string = `${key} ${origin} ${b} -> ${a} (${delta.toFixed(0)})`
    void line
  }
  const suspects: weakTracker.Suspect[] = wt.suspects({ olderThan: 5000 })
  const top = wt.suspects()[0]
  const described: string | undefined = top && `${top.count} ${top.key} ${top.origin} ${top.oldestMs}ms`
  // @ts-expect-error snapshots are read-only
  before.refs.k = { _total: 1 }
  // @ts-expect-error olderThan is a number
  wt.suspects({ olderThan: '5s' })
  // @ts-expect-error diff needs a snapshot to start from
  wt.diff()
  void [when, suspects, described]
}
void leakHunt
