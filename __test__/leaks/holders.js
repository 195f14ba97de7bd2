'use strict'

// The object that really holds each leak of apps/, as a step of a retainer path (`weak-tracker
// growth` JSON: steps from the root to the object, `{ node, edge }`), and which entries of a growth
// report name it.

// Whether some step of a path (root first, the object last) is `at(steps, i)`.
const along = (at) => (steps) => steps.some((_, i) => at(steps, i))

// Whether a step's node is `name`: closures carry their position after the name
// (`createDebug /…/node_modules/debug/src/common.js:64:22`).
const is = (node, name) => node === name || node.startsWith(`${name} `)

// Items leaked per request: three snapshots at these counts.
const MARKS = [200, 5200, 10_200]

// The holder of each leak, as a step of a retainer path.
const HOLDERS = {
  session: {
    what: "the MemoryStore's `sessions`",
    holds: along((s, i) => i > 0 && s[i].edge === 'sessions' && is(s[i - 1].node, 'MemoryStore')),
  },
  race: {
    what: 'the never-settling `shutdown` promise',
    holds: along((s, i) => s[i].edge === 'shutdown' && is(s[i].node, 'Promise')),
  },
  interval: {
    what: "the timer list (Node's TimersList of timerListMap)",
    holds: along((s, i) => i > 0 && is(s[i].node, 'TimersList') && s[i - 1].edge === 'timerListMap'),
  },
  debug: {
    what: "debug's `instances` array",
    holds: along((s, i) => i > 0 && s[i].edge === 'instances' && is(s[i].node, 'Array') && is(s[i - 1].node, 'createDebug')),
  },
  timeout: {
    what: "the socket's `_events.timeout`",
    holds: along((s, i) => i > 1 && s[i].edge === 'timeout' && s[i - 1].edge === '_events' && is(s[i - 2].node, 'Socket')),
  },
  lru: {
    what: "the LRU cache's `Map`",
    holds: along((s, i) => i > 0 && is(s[i].node, 'Map') && is(s[i - 1].node, 'LRUCache')),
  },
}

const short = (steps) => steps.map((s) => `─${s.edge}→ ${s.node}`).join(' ')

// The top three of each list of the report, as lines a failure message can show.
function summary(report) {
  return [
    ...report.unbound.map((u) => `unbound ${u.name} ${u.retainedCounts.join(' → ')}: ${short(u.path)}`),
    ...report.newObjects.map((g) => `new ${g.class} ${g.counts.join(' → ')}${g.growing ? ' growing' : ''}: ${short(g.path)}`),
  ].join('\n')
}

// What of the top three names the holder: an object that grew at every step, or a group of new
// objects that grew at every step by about the leak's size, whose path goes through it.
function naming(report, holds, step = MARKS[1] - MARKS[0]) {
  const unbound = report.unbound.filter((u) => holds(u.path) && u.retainedCounts.every((c, k) => k === 0 || c - u.retainedCounts[k - 1] >= step / 10))
  const groups = report.newObjects.filter((g) => g.growing && g.counts.at(-1) - g.counts.at(-2) >= step * 0.9 && holds(g.path))
  return [...unbound, ...groups]
}

module.exports = { HOLDERS, MARKS, naming, summary }
