'use strict'

// The live page's series over time: each is named once, and forgotten when nothing of it is live
// and the 15-minute ring of samples no longer shows it. The sampling clock is node:test's mock
// setInterval: a quarter of an hour passes in 901 ticks.

const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const { WeakTracker } = require('..')
const { collectUntil } = require('./helpers.js')

// Tracks one object under each of `n` keys `short-<i>`, and returns them.
function trackKeys(tracker, n) {
  const held = []
  for (let i = 0; i < n; i++) {
    held.push({})
    tracker.track(`short-${i}`, held[i])
  }
  return held
}

// The page's event stream: `events` fills with `{ event, data }` as they arrive.
function listen(t, url) {
  const events = []
  let text = ''
  let wake = () => {}
  const req = http.get(url, { agent: false }, (res) => {
    res.setEncoding('utf8')
    res.on('data', (chunk) => {
      text += chunk
      let end
      while ((end = text.indexOf('\n\n')) !== -1) {
        const [, event, data] = text.slice(0, end).match(/^event: (\w+)\ndata: (.*)$/s)
        events.push({ event, data: JSON.parse(data) })
        text = text.slice(end + 2)
        wake()
      }
    })
  })
  req.on('error', () => {})
  t.after(() => req.destroy())
  // Resolves once `n` events of kind `event` have arrived.
  const until = async (event, n) => {
    while (events.filter((e) => e.event === event).length < n) await new Promise((resolve) => (wake = resolve))
  }
  return { events, until }
}

const shortLabels = (labels) => labels.filter(([, label]) => label.key.startsWith('short-')).length

test('samples name only the series new since the last one, and series nothing shows any more drop out', async (t) => {
  // Node 20.10 and later take `{ apis }`; Node 18.19 and 20 before 20.10 take the list itself.
  try {
    t.mock.timers.enable({ apis: ['setInterval'] })
  } catch (error) {
    if (error.code !== 'ERR_INVALID_ARG_TYPE') throw error
    t.mock.timers.enable(['setInterval'])
  }
  // Node 18's mock intervals have no unref(), which the page calls on its sampling timer.
  const probe = setInterval(() => {}, 1000)
  clearInterval(probe)
  if (typeof probe.unref !== 'function') {
    t.skip("this Node's mock timers have no unref()")
    return
  }
  const wt = WeakTracker()
  const held = trackKeys(wt, 2000)
  const page = await wt.serve()
  t.after(() => page.close())
  const stream = listen(t, new URL('events', page.url))
  await stream.until('history', 1)
  assert.equal(shortLabels(stream.events[0].data.labels), 2000, 'the first sample saw them all')

  held.length = 0
  await collectUntil(() => Object.keys(wt.refs).length === 0)
  t.mock.timers.tick(1000)
  await stream.until('sample', 1)
  const sample = stream.events.find((e) => e.event === 'sample').data
  assert.deepEqual(sample.added, [], 'nothing new: no names are sent again')
  assert.equal(JSON.stringify(sample).includes('short-'), false)

  // 900 more samples: the one that had them leaves the ring, and they are forgotten.
  for (let i = 0; i < 900; i++) t.mock.timers.tick(1000)
  await stream.until('sample', 901)
  const dropped = stream.events.filter((e) => e.event === 'sample').flatMap((e) => e.data.dropped)
  assert.equal(dropped.length, 2000)
  const later = listen(t, new URL('events', page.url))
  await later.until('history', 1)
  assert.equal(shortLabels(later.events[0].data.labels), 0)
  assert.equal(later.events[0].data.history.length, 900)
})
