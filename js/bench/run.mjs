// Browser benchmark: JS time per update in headless Chromium, through the DevTools Protocol's
// Performance.getMetrics (ScriptDuration, LayoutDuration, RecalcStyleDuration deltas around
// each click). Pages: /rows?n=N (one cell of N keyed rows changes per click), /counter and
// /counter-plain, served by `cargo run --release -p livetemplate-benches --bin bench_pages`.
// Run by hand, see README.md; this is not a test and asserts nothing. `--sizes 0`: counters only.
//
//   node bench/run.mjs [--clicks 100] [--sizes 100,1000,10000] [--url http://127.0.0.1:8090]
//                      [--client old.js,server] [--bin path/to/bench_pages]
//
// --client serves other client bundles in place of the page's /_lvt/client.js, one after the
// other in one run (`server`: the server's own; to compare with an earlier build); --url uses a
// server already running instead of starting the bin.

import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const here = dirname(fileURLToPath(import.meta.url))
const REPO = resolve(here, '../..')

const args = new Map()
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1])
const CLICKS = +(args.get('clicks') || 100)
const WARMUP = 10
const SIZES = (args.get('sizes') || '100,1000,10000').split(',').filter(Number).map(Number)
const CLIENTS = (args.get('client') || 'server').split(',')
const BIN = args.get('bin') || resolve(REPO, 'target/release/bench_pages')
const CHROMIUM = process.env.LVT_E2E_CHROMIUM || '/usr/bin/chromium'

const freePort = () =>
  new Promise((res, rej) => {
    const s = net.createServer()
    s.on('error', rej)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => res(port))
    })
  })

async function startServer() {
  if (args.get('url')) return { url: args.get('url'), stop() {} }
  const port = await freePort()
  const proc = spawn(BIN, ['--addr', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise((res, rej) => {
    proc.once('error', rej)
    proc.stdout.once('data', res)
  })
  return { url: `http://127.0.0.1:${port}`, stop: () => proc.kill('SIGTERM') }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
const ms = (x) => (x * 1000).toFixed(3)

/** Clicks `button` (CSS) `CLICKS` times, each time waiting until `cell` changed and two frames passed. */
async function measure(browser, client, url, button, cell) {
  const page = await browser.newPage()
  if (client) await page.route('**/_lvt/client.js*', (r) => r.fulfill({ body: client, contentType: 'text/javascript' }))
  await page.goto(url)
  await page.waitForSelector('[data-lvt-root].lvt-connected', { timeout: 60_000 })
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Performance.enable')
  await page.evaluate((b) => document.querySelector(b).scrollIntoView({ block: 'center' }), button)
  const metrics = async () => {
    const { metrics } = await cdp.send('Performance.getMetrics')
    const m = Object.fromEntries(metrics.map((e) => [e.name, e.value]))
    return [m.ScriptDuration, m.LayoutDuration, m.RecalcStyleDuration]
  }
  // window.__arm() makes window.__changed: a promise that resolves once the cell shows a new
  // value and two animation frames (style, layout) passed. Defined once, called through CDP
  // (not page.evaluate) so that the measuring adds as little script as it can.
  await page.evaluate((c) => {
    window.__arm = () => {
      const was = document.querySelector(c).textContent
      window.__changed = new Promise((done) => {
        const o = new MutationObserver(() => {
          if (document.querySelector(c).textContent === was) return
          o.disconnect()
          requestAnimationFrame(() => requestAnimationFrame(done))
        })
        o.observe(document.body, { subtree: true, childList: true, characterData: true })
      })
    }
  }, cell)
  const rows = { script: [], layout: [], style: [] }
  for (let i = 0; i < WARMUP + CLICKS; i++) {
    // The button moves when a value gets wider (the table's columns follow their content).
    const box = await page.locator(button).boundingBox()
    const x = box.x + box.width / 2
    const y = box.y + box.height / 2
    await cdp.send('Runtime.evaluate', { expression: 'window.__arm()' })
    const m0 = await metrics()
    await cdp.send('Input.dispatchMouseEvent', { type: 'mousePressed', x, y, button: 'left', clickCount: 1 })
    await cdp.send('Input.dispatchMouseEvent', { type: 'mouseReleased', x, y, button: 'left', clickCount: 1 })
    const waited = cdp.send('Runtime.evaluate', { expression: 'window.__changed', awaitPromise: true })
    let timer
    const late = new Promise((_, fail) => (timer = setTimeout(() => fail(new Error(`${url}: click ${i + 1} changed nothing within 30 s`)), 30_000)))
    await Promise.race([waited, late]).finally(() => clearTimeout(timer))
    if ((i + 1) % 25 === 0) process.stderr.write(`  ${url}: ${i + 1} clicks\n`)
    const m1 = await metrics()
    if (i < WARMUP) continue
    rows.script.push(m1[0] - m0[0])
    rows.layout.push(m1[1] - m0[1])
    rows.style.push(m1[2] - m0[2])
  }
  await page.close()
  return rows
}

const server = await startServer()
process.on('SIGINT', () => {
  server.stop()
  process.exit(130)
})
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true })
try {
  const cases = [
    ...SIZES.map((n) => [`rows n=${n}`, `/rows?n=${n}`, `#row-${n >> 1 || 1} button`, `#row-${n >> 1 || 1} td:nth-child(3)`]),
    ['counter', '/counter', '#inc', '#count'],
    ['counter, no id', '/counter-plain', '#inc', '.counter p'],
  ]
  for (const c of CLIENTS) {
    const client = c === 'server' ? null : readFileSync(c, 'utf8')
    console.log(`\nclient: ${c === 'server' ? "the server's /_lvt/client.js" : c}; ${CLICKS} clicks after ${WARMUP} warm-up clicks; ms per click`)
    console.log('page                  script median   mean   layout median   mean   style median   mean   script max 3')
    for (const [name, path, button, cell] of cases) {
      const r = await measure(browser, client, server.url + path, button, cell)
      const col = (xs) => `${ms(median(xs)).padStart(13)} ${ms(mean(xs)).padStart(7)}`
      const top = [...r.script].sort((a, b) => b - a).slice(0, 3).map(ms)
      console.log(`${name.padEnd(18)} ${col(r.script)}   ${col(r.layout)}  ${col(r.style)}   ${top.join(' ')}`)
    }
  }
} finally {
  await browser.close()
  server.stop()
}
