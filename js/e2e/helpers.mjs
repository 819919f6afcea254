// Shared machinery of the browser tests: build and run the example-patterns server, launch the
// system Chromium through playwright-core (never a downloaded browser), watch pages (main-frame
// navigations, WebSocket frames) and wait for conditions. Every wait has a deadline of at most
// 15 s; nothing sleeps a fixed time.

import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'
import { chromium } from 'playwright-core'

const here = dirname(fileURLToPath(import.meta.url))
export const JS_DIR = resolve(here, '..')
export const REPO = resolve(JS_DIR, '..')
export const RESULTS = join(JS_DIR, 'test-results')
export const BIN = process.env.LVT_E2E_BIN || join(REPO, 'target', 'debug', 'example-patterns')
export const CHROMIUM = process.env.LVT_E2E_CHROMIUM || '/usr/bin/chromium'

/** Longest any single wait may take. */
export const WAIT_MS = 15_000

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Polls `cond` (sync or async) until truthy; throws `what` after `timeout` ms. */
export async function until(cond, what, timeout = WAIT_MS) {
  const end = Date.now() + timeout
  for (;;) {
    const v = await cond()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`)
    await sleep(25)
  }
}

// ---------------------------------------------------------------------------------------------
// The server

let built = false

/** `cargo build -p example-patterns` once per process (skip with LVT_E2E_NO_BUILD=1). */
export function buildServer() {
  if (built || process.env.LVT_E2E_NO_BUILD === '1') return
  const r = spawnSync('cargo', ['build', '-q', '-p', 'example-patterns'], { cwd: REPO, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`cargo build -p example-patterns failed:\n${r.stderr}\n${r.stdout}`)
  built = true
}

/** A free TCP port on 127.0.0.1 (the OS picks it). */
export function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer()
    s.unref()
    s.on('error', rej)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => res(port))
    })
  })
}

const canConnect = (port) =>
  new Promise((res) => {
    const c = net.connect({ port, host: '127.0.0.1' })
    c.once('connect', () => {
      c.destroy()
      res(true)
    })
    c.once('error', () => res(false))
  })

/**
 * The example-patterns binary on a fixed port and data directory; `stop` then `start` brings it
 * back on the same port with the same store.
 */
export class Server {
  constructor({ port, data, env = {} }) {
    this.port = port
    this.data = data
    this.env = env
    this.proc = null
    this.log = []
  }

  static async create() {
    buildServer()
    const data = mkdtempSync(join(tmpdir(), 'lvt-e2e-'))
    const srv = new Server({ port: await freePort(), data })
    await srv.start()
    return srv
  }

  get url() {
    return `http://127.0.0.1:${this.port}`
  }

  /** Spawns the server and waits until its port accepts connections (retries a lost bind race). */
  async start() {
    if (this.proc) throw new Error('server already running')
    const end = Date.now() + WAIT_MS
    for (let tries = 1; ; tries++) {
      const proc = spawn(BIN, ['--addr', `127.0.0.1:${this.port}`, '--data', this.data], {
        cwd: REPO,
        env: { ...process.env, NO_COLOR: '1', RUST_LOG: process.env.RUST_LOG || 'info', ...this.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      const exited = new Promise((r) => proc.once('exit', (code, sig) => r({ code, sig })))
      proc.exited = exited
      const keep = (buf) => {
        for (const line of String(buf).split('\n')) if (line) this.log.push(line)
        if (this.log.length > 400) this.log.splice(0, this.log.length - 400)
      }
      proc.stdout.on('data', keep)
      proc.stderr.on('data', keep)
      let gone = null
      exited.then((e) => (gone = e))
      this.log.push(`--- e2e: started pid ${proc.pid} on port ${this.port} (try ${tries})`)
      for (;;) {
        if (gone) break
        if (await canConnect(this.port)) {
          if (gone) break
          this.proc = proc
          return
        }
        if (Date.now() > end) {
          proc.kill('SIGKILL')
          throw new Error(`server did not listen on ${this.port} within ${WAIT_MS} ms\n${this.tail()}`)
        }
        await sleep(25)
      }
      // It exited before listening (e.g. the port is briefly still taken): try again.
      if (Date.now() > end)
        throw new Error(`server exited (${JSON.stringify(gone)}) before listening\n${this.tail()}`)
      await sleep(100)
    }
  }

  /** Stops the server with `signal` and waits for the process to be gone. */
  async stop(signal = 'SIGTERM') {
    const proc = this.proc
    if (!proc) return
    this.proc = null
    proc.kill(signal)
    const t = setTimeout(() => proc.kill('SIGKILL'), WAIT_MS)
    await proc.exited
    clearTimeout(t)
    this.log.push(`--- e2e: pid ${proc.pid} stopped with ${signal}`)
  }

  /** kill -9: no shutdown at all. */
  kill() {
    return this.stop('SIGKILL')
  }

  async restart(signal = 'SIGKILL') {
    await this.stop(signal)
    await this.start()
  }

  tail(n = 60) {
    return this.log.slice(-n).join('\n')
  }

  async dispose() {
    await this.stop('SIGKILL')
    rmSync(this.data, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// The browser

export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** System Chromium; playwright gives every launch a fresh temporary profile. */
export function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 })
}

/**
 * Records what a page does: main-frame navigations (`navs`, the initial load counts 1), the
 * WebSockets it opened with the frames sent and received, console errors and page errors.
 */
export function watch(page) {
  const w = { navs: 0, sockets: [], errors: [] }
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) w.navs++
  })
  page.on('websocket', (ws) => {
    const s = { ws, url: ws.url(), sent: [], received: [], receivedBytes: [], closed: false }
    w.sockets.push(s)
    ws.on('framesent', (f) => s.sent.push(parse(f.payload)))
    ws.on('framereceived', (f) => {
      s.received.push(parse(f.payload))
      s.receivedBytes.push(Buffer.byteLength(f.payload))
    })
    ws.on('close', () => (s.closed = true))
  })
  page.on('pageerror', (e) => w.errors.push(`pageerror: ${e.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error') w.errors.push(`console: ${m.text()}`)
  })
  page.lvt = w
  return w
}

const parse = (p) => {
  try {
    return JSON.parse(String(p))
  } catch {
    return String(p)
  }
}

const ROOT = '[data-lvt-root]'

/** Waits until the live root has class `cls`. */
export async function waitRootClass(page, cls, timeout = WAIT_MS) {
  try {
    await page.waitForFunction(
      ([sel, c]) => document.querySelector(sel)?.classList.contains(c),
      [ROOT, cls],
      { timeout, polling: 20 },
    )
  } catch (e) {
    const now = await page.evaluate((sel) => document.querySelector(sel)?.className, ROOT).catch(() => '?')
    throw new Error(`root never got class ${cls} within ${timeout} ms (class="${now}")`, { cause: e })
  }
}

/**
 * Waits until the live root is `lvt-connected` and the current WebSocket has brought the first
 * frame of its connection (the server's full render).
 */
export async function waitLive(page, timeout = WAIT_MS) {
  const end = Date.now() + timeout
  await waitRootClass(page, 'lvt-connected', timeout)
  await until(
    () => {
      const s = page.lvt.sockets.at(-1)
      return s && !s.closed && s.received.length > 0
    },
    'the first frame on the WebSocket',
    Math.max(0, end - Date.now()),
  )
}

/** Number of WebSocket frames that carried a full render (`s` statics), over all sockets. */
export const fullRenders = (page) =>
  page.lvt.sockets.reduce((n, s) => n + s.received.filter((f) => f && typeof f === 'object' && f.s).length, 0)

/** Waits until `selector`'s trimmed text is `text`. */
export async function waitText(page, selector, text, timeout = WAIT_MS) {
  try {
    await page.waitForFunction(
      ([sel, t]) => document.querySelector(sel)?.textContent.trim() === t,
      [selector, String(text)],
      { timeout, polling: 20 },
    )
  } catch (e) {
    const now = await page.locator(selector).textContent({ timeout: 1000 }).catch(() => '(missing)')
    throw new Error(`${selector} never showed "${text}" within ${timeout} ms (shows "${now?.trim()}")`, { cause: e })
  }
}

/** Waits until the reply (same ref) to the latest sent action `action` arrived on the socket. */
export async function waitReply(page, action, timeout = WAIT_MS) {
  const sent = () => {
    for (const s of [...page.lvt.sockets].reverse()) {
      const f = [...s.sent].reverse().find((x) => x && x.a === action)
      if (f) return { s, r: f.r }
    }
  }
  const { s, r } = await until(sent, `action "${action}" to be sent over the WebSocket`, timeout)
  return until(() => s.received.find((x) => x && x.r === r), `the reply to "${action}" (ref ${r})`, timeout)
}

// ---------------------------------------------------------------------------------------------
// Tests: screenshots and server log on failure, contexts closed afterwards

/**
 * `describe(name)` with one example server and one browser for all its tests: `body(env)` gets
 * `env.server`, `env.browser` (set once `before` ran) and `env.opts` for `e2e` (server log on
 * failure).
 */
export function suite(name, body) {
  describe(name, () => {
    const env = { server: undefined, browser: undefined }
    env.opts = { server: () => env.server }
    before(async () => {
      env.server = await Server.create()
      env.browser = await launch()
    })
    after(async () => {
      await env.browser?.close()
      await env.server?.dispose()
    })
    body(env)
  })
}

/**
 * `test(name, fn)` where `fn(x)` gets `x.context(opts)` / `x.page(context)` that are cleaned up
 * after the test, and a failure saves a screenshot of every page into js/test-results/.
 */
export function e2e(name, fn, { timeout = 60_000, server } = {}) {
  return test(name, { timeout }, async () => {
    const contexts = []
    const pages = []
    const x = {
      context: async (browser, opts = {}) => {
        const c = await browser.newContext(opts)
        c.setDefaultTimeout(WAIT_MS)
        contexts.push(c)
        return c
      },
      page: async (context) => {
        const p = await context.newPage()
        watch(p)
        pages.push(p)
        return p
      },
    }
    try {
      await fn(x)
    } catch (err) {
      mkdirSync(RESULTS, { recursive: true })
      const slug = name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase()
      const notes = []
      for (const [i, p] of pages.entries()) {
        const file = join(RESULTS, `${slug}-${i + 1}.png`)
        await p
          .screenshot({ path: file, fullPage: true, timeout: 5000 })
          .then(() => notes.push(`screenshot: ${file}`))
          .catch(() => {})
        if (p.lvt?.errors.length) notes.push(`page ${i + 1} errors:\n  ${p.lvt.errors.join('\n  ')}`)
      }
      const srv = typeof server === 'function' ? server() : server
      if (srv) notes.push(`server log (tail):\n${srv.tail(30)}`)
      if (notes.length) err.message += `\n${notes.join('\n')}`
      throw err
    } finally {
      for (const c of contexts) await c.close().catch(() => {})
    }
  })
}
