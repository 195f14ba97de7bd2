'use strict'

// The live page in a real headless Chromium (Debian's `chromium`, driven by playwright-core; nothing
// is downloaded): `npm run demo` serves a shop whose cart line leaks, and the test looks at the
// page as a person would. Without Chromium it skips, saying how to install it; under CI=true it
// fails instead (.ci/run installs the package).

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const http = require('node:http')
const crypto = require('node:crypto')
const { spawn } = require('node:child_process')

const CHROMIUM = [process.env.WEAK_TRACKER_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && fs.existsSync(p))
const demo = path.join(__dirname, '../../example/http-leak.js')
const artifacts = path.join(__dirname, '../artifacts')

const skip =
  CHROMIUM === undefined && process.env.CI !== 'true'
    ? 'no Chromium here: apt-get install chromium (or set WEAK_TRACKER_CHROMIUM) to run the browser test'
    : false

// The rows of the series table as a person reads them: key, origin, thread, live, trend.
function seriesRows(page) {
  return page.$$eval('#series tbody tr', (rows) =>
    rows.map((tr) => {
      const cells = [...tr.querySelectorAll('td')].map((td) => td.textContent)
      return { key: cells[1], origin: cells[2], thread: cells[3], live: Number(cells[4]), trend: cells[5], rising: tr.classList.contains('rising') }
    }),
  )
}

function launch() {
  const { chromium } = require('playwright-core')
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}

// A new tab that records every request (address and Referer) and every failure.
async function openTab(t, browser) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } })
  const requests = []
  const failures = []
  page.on('request', (request) => requests.push({ url: request.url(), referer: request.headers().referer ?? '' }))
  page.on('pageerror', (error) => failures.push(error.message))
  page.on('requestfailed', (request) => failures.push(`${request.url()}: ${request.failure()?.errorText}`))
  page.on('response', (response) => {
    if (response.status() >= 400) failures.push(`${response.url()}: ${response.status()}`)
  })
  return { page, requests, failures }
}

const hasRow = (key) => [...document.querySelectorAll('#series tbody tr td:nth-child(2)')].some((td) => td.textContent === key)

// Starts `script` with `args`, and resolves with the page address it prints.
async function start(t, script, args = [], env = {}) {
  const app = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } })
  t.after(() => app.kill('SIGTERM'))
  let out = ''
  return new Promise((resolve, reject) => {
    app.stdout.on('data', (chunk) => {
      out += chunk
      const found = out.match(/^Live page: (\S+)$/m)
      if (found) resolve(found[1])
    })
    app.once('exit', (code) => reject(new Error(`${path.basename(script)} exited (${code}) before serving the page:\n${out}`)))
  })
}

const pageApp = path.join(__dirname, '../fixtures/page-app.js')

test('the live page shows the leaking line rising, names it as a suspect, and explains it with why', { skip, timeout: 120_000 }, async (t) => {
  assert.ok(CHROMIUM, 'CI=true and no Chromium: .ci/run should have installed the chromium package')
  const url = await start(t, demo)
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/)

  const browser = await launch()
  t.after(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } })
  const failures = []
  page.on('pageerror', (error) => failures.push(error.message))
  page.on('requestfailed', (request) => failures.push(`${request.url()}: ${request.failure()?.errorText}`))
  await page.goto(url)

  const cart = async () => (await seriesRows(page)).find((r) => r.key === 'cart')
  await page.waitForFunction(() => [...document.querySelectorAll('#series tbody tr td:nth-child(2)')].some((td) => td.textContent === 'cart'))
  const early = await cart()
  await page.waitForTimeout(12_000)
  const rows = await seriesRows(page)
  const late = rows.find((r) => r.key === 'cart')

  // The leaking line rises and is marked; it is the first row.
  assert.match(late.origin, /^at Server\.shopHandler \(.*http-leak\.js:\d+:\d+\)$/)
  assert.equal(late.thread, 'main')
  assert.ok(late.live > early.live + 20, `cart: ${early.live} -> ${late.live}`)
  assert.ok(late.rising)
  assert.match(late.trend, /^↑ \+\d+$/)
  assert.equal(rows[0].key, 'cart')
  // Lines that do not leak stay flat: the earlier parts' leftovers do not move, and what a request
  // makes for a moment stays far below the cart line.
  for (const row of rows.filter((r) => r.key === 'api' || r.key === 'cached-session')) {
    assert.equal(row.trend, '→ 0', `${row.key} is flat`)
    assert.ok(!row.rising)
  }
  for (const row of rows.filter((r) => r.key === 'visit' || r.key === 'response')) {
    assert.ok(row.live < late.live, `${row.key} (${row.live}) stays below the leak (${late.live})`)
    assert.ok(!row.rising, `${row.key} goes up and down, it is not marked as rising`)
  }
  assert.match(await page.textContent('#status'), /; 1 line\(s\) rising$/)

  // Older than 10 s: the cart line is a suspect.
  const suspects = await page.$$eval('#suspects tbody tr', (trs) => trs.map((tr) => tr.textContent))
  assert.ok(suspects.some((s) => s.startsWith('cart') && /http-leak\.js:\d+:\d+/.test(s)), suspects.join('\n'))

  // The why button on the cart row: a path through the leaking array.
  await page.click('#series tbody tr:first-child button.why')
  await page.waitForFunction(() => document.getElementById('why').textContent.includes('╰→'), null, { timeout: 60_000 })
  const why = await page.textContent('#why')
  assert.match(why, /tracked as 'cart' at Server\.shopHandler/)
  assert.match(why, /↓ carts \(context\)\n├─ Array {3}Retaining [^\n]+\n│ {4}↓ \[\d+\] \(element\)\n╰→ Object/)
  assert.doesNotMatch(why, /\/cart\/\d+/, 'no string contents from the heap')
  assert.match(await page.textContent('#why-status'), /^why\('cart'\): \d+ live, \d+ explained/)

  fs.mkdirSync(artifacts, { recursive: true })
  await page.screenshot({ path: path.join(artifacts, 'page.png'), fullPage: true })
  assert.deepEqual(failures, [])
})

test('with a token, the page works in Chromium, and the token goes no further than the first request', { skip, timeout: 120_000 }, async (t) => {
  assert.ok(CHROMIUM, 'CI=true and no Chromium: .ci/run should have installed the chromium package')
  const token = crypto.randomBytes(24).toString('hex')
  const url = await start(t, pageApp, ['token'], { WEAK_TRACKER_PAGE_TOKEN: token })
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+$/)
  const browser = await launch()
  t.after(() => browser.close())
  const { page, requests, failures } = await openTab(t, browser)
  await page.goto(url)
  assert.equal(page.url(), url.slice(0, url.indexOf('?')), 'the address bar no longer has the token')
  await page.waitForFunction(hasRow, 'kept-k')
  assert.match(await page.textContent('#status'), /samples, one a second/)

  await page.click('#series tbody tr:has(td:text-is("kept-k")) button.why')
  await page.waitForFunction(() => document.getElementById('why').textContent.includes('╰→'), null, { timeout: 60_000 })
  assert.match(await page.textContent('#why'), /__pageAppKept \(property\)/)

  assert.ok(requests.length > 3, requests.map((r) => r.url).join('\n'))
  assert.equal(requests[0].url, url)
  for (const { url: address, referer } of requests.slice(1)) {
    assert.ok(!address.includes(token) && !referer.includes(token), `${address} (Referer: ${referer}) carries the token`)
  }
  assert.deepEqual(failures, [])
})

test('mounted under a prefix, the page at /leaks (no slash) works in Chromium', { skip, timeout: 60_000 }, async (t) => {
  assert.ok(CHROMIUM, 'CI=true and no Chromium: .ci/run should have installed the chromium package')
  const url = await start(t, pageApp, ['prefix'])
  const browser = await launch()
  t.after(() => browser.close())
  const { page, failures } = await openTab(t, browser)
  await page.goto(url)
  assert.match(page.url(), /\/leaks\/$/)
  await page.waitForFunction(hasRow, 'kept-k')
  assert.deepEqual(failures, [])
})
