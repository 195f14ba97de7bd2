// The same API imported from an ES module: default and named imports.
import weakTracker, { WeakTracker } from '../../index.js'

const wt = weakTracker()
const other = WeakTracker()
wt.on('ref', (key, origin) => void `${key.toUpperCase()} ${origin.trim()}`)
other.track('k', new Map())
const total: number | undefined = wt.refs.k?._total
// @ts-expect-error the tracker has no such method
wt.untrack('k')
void total
