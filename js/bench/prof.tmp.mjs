import { chromium } from 'playwright-core'
import { readFileSync } from 'node:fs'
const [url, client] = process.argv.slice(2)
const b = await chromium.launch({ executablePath: '/usr/bin/chromium' })
const p = await b.newPage()
if (client) await p.route('**/_lvt/client.js*', (r) => r.fulfill({ body: readFileSync(client, 'utf8'), contentType: 'text/javascript' }))
await p.goto(url)
await p.waitForSelector('.lvt-connected')
const cdp = await p.context().newCDPSession(p)
await cdp.send('Profiler.enable')
await cdp.send('Profiler.setSamplingInterval', { interval: 50 })
await cdp.send('Profiler.start')
await p.evaluate(async () => {
  const btn = document.querySelector('#inc') || document.querySelector('#row-500 button')
  const cell = document.querySelector('#count') || document.querySelector('#row-500 td:nth-child(3)')
  for (let i = 0; i < 300; i++) {
    const was = cell.textContent
    btn.click()
    while (cell.textContent === was) await new Promise((r) => setTimeout(r, 0))
  }
})
const { profile } = await cdp.send('Profiler.stop')
const self = new Map()
const dt = profile.timeDeltas
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const counts = new Map()
profile.samples.forEach((id, i) => counts.set(id, (counts.get(id) || 0) + dt[i]))
for (const [id, t] of counts) {
  const n = byId.get(id)
  const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}:${n.callFrame.columnNumber}`
  self.set(k, (self.get(k) || 0) + t)
}
;[...self].sort((a, b) => b[1] - a[1]).slice(0, 25).forEach(([k, t]) => console.log((t / 1000 / 300).toFixed(4), 'ms/click', k))
await b.close()
