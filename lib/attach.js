'use strict'

// Attaching to a Node process that loaded nothing: SIGUSR1 opens its inspector on 127.0.0.1, the
// inspector protocol (JSON over WebSocket, the `ws` client) drives V8's sampling heap profiler and
// streams heap snapshots to this process, where the heap engine reads them. The app pays only
// V8's own work (the profile reads and snapshots pause it); its inspector is closed at the end.

const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const http = require('node:http')
const WebSocket = require('ws')

const DEFAULT_PORT = 9229

class AttachError extends Error {}

function getJson(port, path, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: timeoutMs }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => {
        body += chunk
        if (body.length > 1 << 20) req.destroy(new Error('answer too long'))
      })
      res.on('end', () => {
        try {
          resolve(JSON.parse(body))
        } catch (error) {
          reject(error)
        }
      })
    })
    req.on('timeout', () => req.destroy(new Error('timed out')))
    req.on('error', reject)
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// The executable of `pid`: from /proc where there is one, else from `ps`. Throws when it cannot be
// told: a signal must never go to a process that is not Node (SIGUSR1 ends most programs).
function executableOf(pid) {
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '')
  } catch (error) {
    if (fs.existsSync('/proc/self/exe')) {
      throw new AttachError(`cannot tell whether pid ${pid} is a Node.js process (${error.code === 'EACCES' ? 'not allowed to read' : 'cannot read'} /proc/${pid}/exe)`)
    }
  }
  const ps = spawnSync('ps', ['-p', String(pid), '-o', 'comm='], { encoding: 'utf8' })
  const name = ps.status === 0 ? ps.stdout.trim() : ''
  if (name === '') throw new AttachError(`cannot tell whether pid ${pid} is a Node.js process`)
  return name
}

function checkProcess(pid) {
  try {
    process.kill(pid, 0)
  } catch (error) {
    if (error.code === 'ESRCH') throw new AttachError(`no process has pid ${pid}`)
    if (error.code === 'EPERM') throw new AttachError(`not allowed to signal pid ${pid} (run as its user)`)
    throw error
  }
  const exe = executableOf(pid)
  const name = path.basename(exe)
  if (!/^(node|nodejs)(\d+)?(\.exe)?$/.test(name) && exe !== process.execPath) {
    throw new AttachError(`pid ${pid} is not a Node.js process (${name})`)
  }
}

// A protocol session over one WebSocket: `call(method, params)`, and events by method name.
class Session {
  #socket
  #next = 1
  #pending = new Map()
  #handlers = new Map()

  constructor(socket) {
    this.#socket = socket
    socket.on('message', (data) => this.#message(data))
    socket.on('close', () => {
      for (const { reject } of this.#pending.values()) reject(new AttachError('the inspector closed the connection'))
      this.#pending.clear()
    })
  }

  static open(url) {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 })
      socket.once('open', () => resolve(new Session(socket)))
      socket.once('error', reject)
    })
  }

  #message(data) {
    let message
    try {
      message = JSON.parse(data)
    } catch {
      return
    }
    if (message.id !== undefined) {
      const pending = this.#pending.get(message.id)
      if (pending === undefined) return
      this.#pending.delete(message.id)
      if (message.error) pending.reject(new AttachError(`${pending.method}: ${message.error.message}`))
      else pending.resolve(message.result)
    } else if (message.method !== undefined) {
      this.#handlers.get(message.method)?.(message.params)
    }
  }

  on(method, handler) {
    this.#handlers.set(method, handler)
  }

  call(method, params = {}) {
    return new Promise((resolve, reject) => {
      const id = this.#next++
      this.#pending.set(id, { resolve, reject, method })
      this.#socket.send(JSON.stringify({ id, method, params }))
    })
  }

  close() {
    this.#socket.terminate()
  }
}

// Opens the inspector of `pid` and connects to it. Refuses a port held by another process.
async function connect(pid, { port = DEFAULT_PORT, waitMs = 5000 } = {}) {
  checkProcess(pid)
  let targets = null
  try {
    targets = await getJson(port, '/json/list', 500)
  } catch {
    // Nothing listens yet: the usual case.
  }
  if (targets === null) {
    // SIGUSR1 where there are signals; Windows has Node's own remote call for it.
    if (process.platform === 'win32') process._debugProcess(pid)
    else process.kill(pid, 'SIGUSR1')
    const deadline = Date.now() + waitMs
    while (targets === null && Date.now() < deadline) {
      await sleep(100)
      try {
        targets = await getJson(port, '/json/list', 500)
      } catch {
        // Not yet.
      }
    }
    if (targets === null) {
      throw new AttachError(
        `pid ${pid} did not open its inspector on 127.0.0.1:${port} within ${waitMs / 1000} s (port taken, or started with --disable-sigusr1)`,
      )
    }
  }
  const target = Array.isArray(targets) ? targets.find((t) => typeof t.webSocketDebuggerUrl === 'string') : undefined
  if (target === undefined) throw new AttachError(`the inspector on 127.0.0.1:${port} offers no target`)
  const session = await Session.open(target.webSocketDebuggerUrl)
  const { result } = await session.call('Runtime.evaluate', { expression: 'process.pid', returnByValue: true })
  if (result?.value !== pid) {
    session.close()
    throw new AttachError(`port ${port} is taken by another process (pid ${result?.value ?? 'unknown'}), not pid ${pid}`)
  }
  return session
}

// Closes the app's inspector again; the connection ends with it.
async function detach(session) {
  try {
    await Promise.race([session.call('Runtime.evaluate', { expression: 'process._debugEnd()' }), sleep(1000)])
  } catch {
    // The inspector closed as asked, or was already gone.
  } finally {
    session.close()
  }
}

// Takes a heap snapshot of the app and feeds its text to `feed(chunk)` as it streams in.
async function streamSnapshot(session, feed) {
  let failure = null
  session.on('HeapProfiler.addHeapSnapshotChunk', ({ chunk }) => {
    if (failure !== null) return
    try {
      feed(Buffer.from(chunk, 'utf8'))
    } catch (error) {
      failure = error
    }
  })
  await session.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false })
  session.on('HeapProfiler.addHeapSnapshotChunk', () => {})
  if (failure !== null) throw failure
}

module.exports = { connect, detach, streamSnapshot, AttachError, DEFAULT_PORT }
