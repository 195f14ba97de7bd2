'use strict'

// The public GitHub workflow (.github/workflows/CI.yml), read as GitHub reads it: it cannot run it
// here, but it can check that every job could start and that each platform package is built,
// uploaded and tested with the binary a release publishes.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const yaml = require('js-yaml')
const { PLATFORMS } = require('../../lib/platform.js')

const root = path.join(__dirname, '../..')
const workflow = yaml.load(fs.readFileSync(path.join(root, '.github/workflows/CI.yml'), 'utf8'))
const runs = (job) => workflow.jobs[job].steps.map((s) => s.run ?? '').join('\n')

// Runner images GitHub has retired: a job asking for one waits for a runner that never comes.
const RETIRED = ['macos-11', 'macos-12', 'macos-13', 'ubuntu-18.04', 'ubuntu-20.04', 'windows-2016', 'windows-2019']

test('every job asks for a runner image GitHub still offers', () => {
  const hosts = Object.values(workflow.jobs).flatMap((job) =>
    job['runs-on'].includes('matrix.settings.host') ? job.strategy.matrix.settings.map((s) => s.host) : [job['runs-on']],
  )
  assert.ok(hosts.length > 0)
  for (const host of hosts) assert.ok(!RETIRED.includes(host), `${host} is retired`)
})

test('a lint job runs cargo fmt, clippy with warnings as errors, and cargo test', () => {
  const steps = runs('lint')
  assert.match(steps, /^cargo fmt --check$/m)
  assert.match(steps, /^cargo clippy --all-targets -- -D warnings$/m)
  assert.match(steps, /^cargo test$/m)
})

test('the build matrix makes every platform package with the release build, and uploads each', () => {
  const { build } = workflow.jobs
  assert.deepEqual(build.strategy.matrix.platform, PLATFORMS)
  assert.match(runs('build'), /node scripts\/build-all\.js --platform \$\{\{ matrix\.platform \}\}/)
  const upload = build.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))
  assert.equal(upload.with.name, 'bindings-${{ matrix.platform }}')
  assert.match(upload.with.path, /npm\/\$\{\{ matrix\.platform \}\}\//)
  assert.match(upload.with.path, /binding\.js/, 'the loader the test machines cannot generate')
})

test('the test matrix runs the core suite with the built binary on every platform, linux-x64 included, on every supported Node.js', () => {
  const { test: job } = workflow.jobs
  assert.equal(job.needs, 'build')
  assert.deepEqual(job.strategy.matrix.settings.map((s) => s.platform).sort(), [...PLATFORMS].sort())
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
  assert.equal(pkg.engines.node, '>= 18')
  assert.deepEqual(job.strategy.matrix.node, ['18', '20', '22', '24', '26'])
  const download = job.steps.find((s) => s.uses?.startsWith('actions/download-artifact@'))
  assert.equal(download.with.name, 'bindings-${{ matrix.settings.platform }}')
  const steps = runs('test')
  assert.match(steps, /cp npm\/\$\{\{ matrix\.settings\.platform \}\}\/\*\.node \./)
  assert.match(steps, /node --expose-gc --test __test__\/\*\.test\.js/)
})

test('the integration tests run once, with a browser, since GitHub sets CI=true', () => {
  const step = workflow.jobs.test.steps.find((s) => /__test__\/integration\//.test(s.run ?? ''))
  assert.ok(step, 'an integration step')
  assert.match(step.if, /linux-x64-gnu/)
  assert.ok(step.env?.WEAK_TRACKER_CHROMIUM, 'the page test fails under CI=true without a browser')
})
