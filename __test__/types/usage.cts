// Type-checked by types.test.js with tsc --strict: every use of the API from CommonJS. A wrong
// or missing type makes tsc fail, and so does an `@ts-expect-error` that no longer errs.
import weakTracker = require('../..')
import { EventEmitter } from 'node:events'

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

void [emitter, isTracker, refs]
