// Issue 15 acceptance: /uploads with real files. Progress in steps and byte-identical files,
// several files at once, refusals before any byte (too_large, not_accepted, too_many_files),
// cancel and tab close mid-upload leaving no temporary file, and both forms without JavaScript.

import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe } from 'node:test'
import { Server, buildServer, e2e, freePort, launch, until, waitLive } from './helpers.mjs'

/** A 1×1 PNG, so the saved avatar is an image the browser can show. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
)

const sha = (b) => createHash('sha256').update(b).digest('hex')

describe('uploads', () => {
  const env = {}
  const opts = { server: () => env.server, timeout: 90_000 }
  const files = mkdtempSync(join(tmpdir(), 'lvt-e2e-files-'))
  const tmp = mkdtempSync(join(tmpdir(), 'lvt-e2e-upload-tmp-'))
  /** Writes `bytes` as `name` in the test's file directory; returns its path. */
  const file = (name, bytes) => {
    const p = join(files, name)
    writeFileSync(p, bytes)
    return p
  }
  /** Temporary upload files the server holds now. */
  const temps = () => readdirSync(tmp).filter((f) => f.startsWith('lvt-upload-'))

  before(async () => {
    buildServer()
    const data = mkdtempSync(join(tmpdir(), 'lvt-e2e-'))
    env.server = new Server({ port: await freePort(), data, env: { LVT_UPLOAD_TMP: tmp } })
    await env.server.start()
    env.browser = await launch()
  })
  after(async () => {
    await env.browser?.close()
    await env.server?.dispose()
  })

  /** A live /uploads page that records every entry's progress values and binary frames sent. */
  async function open(x) {
    const page = await x.page(await x.context(env.browser))
    page.binary = 0
    page.on('websocket', (ws) => ws.on('framesent', (f) => typeof f.payload !== 'string' && page.binary++))
    await page.addInitScript(() => {
      window.__progress = {}
      // Stalls chunk frames once set (the page keeps running): "mid-upload", deterministically.
      const send = WebSocket.prototype.send
      WebSocket.prototype.send = function (d) {
        if (typeof d !== 'string' && window.__stallAfter != null && window.__sent++ >= window.__stallAfter) return
        return send.call(this, d)
      }
      window.__sent = 0
      new MutationObserver(() => {
        for (const li of document.querySelectorAll('li.entry')) {
          const seen = (window.__progress[li.dataset.name] ||= [])
          const p = +li.dataset.progress
          if (seen.at(-1) !== p) seen.push(p)
        }
      }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-progress'] })
    })
    await page.goto(`${env.server.url}/uploads`)
    await waitLive(page)
    return page
  }

  const entry = (section, name) => `#${section}-entries li.entry[data-name="${name}"]`
  const progressOf = (page, name) => page.evaluate((n) => window.__progress[n] || [], name)

  e2e(
    'a 5 MB document: progress rises in several steps and the saved file is byte-identical',
    async (x) => {
      const page = await open(x)
      const bytes = randomBytes(5_000_000)
      await page.setInputFiles('#documents input[type=file]', file('five.bin', bytes))
      await page.waitForSelector(`${entry('documents', 'five.bin')}[data-progress="100"]`)
      const steps = await progressOf(page, 'five.bin')
      const between = steps.filter((p) => p > 0 && p < 100)
      assert.ok(between.length >= 3, `progress seen in steps: ${JSON.stringify(steps)}`)
      assert.deepEqual([...steps].sort((a, b) => a - b), steps, 'progress only rises')
      await page.click('button[name=save_documents]')
      const link = await page.waitForSelector('#documents-saved li a.name')
      assert.equal((await link.textContent()).trim(), 'five.bin')
      const got = await page.request.get(`${env.server.url}${await link.getAttribute('href')}`)
      assert.equal(sha(await got.body()), sha(bytes), 'the saved file is byte-identical')
      await until(() => temps().length === 0, 'no temporary file left after consume')
      assert.ok(page.binary >= 5_000_000 / 65_536, `${page.binary} chunk frames`)
    },
    opts,
  )

  e2e(
    'three documents at once all arrive, and a fourth is refused with too_many_files',
    async (x) => {
      const page = await open(x)
      const four = [1, 2, 3, 4].map((i) => file(`doc${i}.txt`, randomBytes(200_000 * i)))
      await page.setInputFiles('#documents input[type=file]', four)
      for (const i of [1, 2, 3]) await page.waitForSelector(`${entry('documents', `doc${i}.txt`)}[data-progress="100"]`)
      await page.waitForSelector(`${entry('documents', 'doc4.txt')} [data-error=too_many_files]`)
      await page.click('button[name=save_documents]')
      await until(async () => (await page.$$('#documents-saved li')).length === 3, 'three saved documents')
      const sizes = await page.$$eval('#documents-saved .size', (s) => s.map((e) => +e.dataset.bytes))
      assert.deepEqual(sizes, [200_000, 400_000, 600_000])
      assert.equal(await page.$(entry('documents', 'doc1.txt')), null, 'consumed entries are gone')
      assert.ok(await page.$(entry('documents', 'doc4.txt')), 'the refused entry stays with its error')
    },
    opts,
  )

  e2e(
    'files dropped on the documents drop target are uploaded',
    async (x) => {
      const page = await open(x)
      // A real DataTransfer with a file made in the page, dropped on the drop zone.
      await page.evaluate(() => {
        const dt = new DataTransfer()
        dt.items.add(new File(['dropped bytes'], 'dropped.txt', { type: 'text/plain' }))
        const zone = document.querySelector('[lvt-drop-target=documents]')
        for (const type of ['dragenter', 'dragover', 'drop'])
          zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }))
      })
      await page.waitForSelector(`${entry('documents', 'dropped.txt')}[data-progress="100"]`)
      await page.click('button[name=save_documents]')
      const link = await page.waitForSelector('#documents-saved li a.name')
      const got = await page.request.get(`${env.server.url}${await link.getAttribute('href')}`)
      assert.equal(await got.text(), 'dropped bytes')
    },
    opts,
  )

  e2e(
    'an avatar is sent when its form is submitted, and the save waits for it',
    async (x) => {
      const page = await open(x)
      await page.setInputFiles('#avatar input[type=file]', file('me.png', PNG))
      await page.waitForSelector(`${entry('avatar', 'me.png')}[data-progress="0"]`)
      assert.equal(page.binary, 0, 'nothing is sent before the submit (no auto_upload)')
      await page.click('button[name=save_avatar]')
      await page.waitForSelector('#avatar-saved')
      assert.equal(page.binary, 1, 'one chunk')
      assert.equal((await page.textContent('#avatar-saved .name')).trim(), 'me.png')
      await until(() => page.$eval('#avatar-saved img', (i) => i.complete && i.naturalWidth === 1), 'the avatar image shown')
      assert.equal(await page.$(entry('avatar', 'me.png')), null, 'the consumed entry is gone')
      assert.equal(page.lvt.navs, 1, 'no page load')
    },
    opts,
  )

  e2e(
    'a 3 MB avatar is refused with too_large, a .txt avatar with not_accepted, before any byte',
    async (x) => {
      const page = await open(x)
      assert.equal(await page.getAttribute('#avatar input[type=file]', 'multiple'), null, 'one avatar')
      assert.equal(await page.getAttribute('#documents input[type=file]', 'multiple'), '', 'up to 3 documents')
      assert.equal(await page.getAttribute('#avatar input[type=file]', 'accept'), '.png,.jpg,.jpeg,.gif,.webp')
      await page.setInputFiles('#avatar input[type=file]', file('big.png', randomBytes(3_000_000)))
      await page.waitForSelector(`${entry('avatar', 'big.png')} [data-error=too_large]`)
      await page.setInputFiles('#avatar input[type=file]', file('notes.txt', Buffer.from('hello')))
      await page.waitForSelector(`${entry('avatar', 'notes.txt')} [data-error=not_accepted]`)
      // Submitting sends nothing either: there is no valid entry.
      await page.click('button[name=save_avatar]')
      await until(
        () => page.lvt.sockets.at(-1).received.some((f) => f && f.r && page.lvt.sockets.at(-1).sent.some((s) => s && s.a === 'save_avatar' && s.r === f.r)),
        'the reply to save_avatar',
      )
      assert.equal(page.binary, 0, 'no chunk was sent')
      assert.equal(temps().length, 0, 'no temporary file was made')
      assert.equal(await page.$('#avatar-saved'), null)
    },
    opts,
  )

  e2e(
    'cancel mid-upload removes the entry and its temporary file',
    async (x) => {
      const page = await open(x)
      await page.evaluate(() => (window.__stallAfter = 20))
      await page.setInputFiles('#documents input[type=file]', file('cancel.bin', randomBytes(8_000_000)))
      await until(async () => (await progressOf(page, 'cancel.bin')).some((p) => p > 0), 'some progress')
      await until(() => temps().length === 1, 'the temporary file while bytes arrive')
      const p = +(await page.getAttribute(entry('documents', 'cancel.bin'), 'data-progress'))
      assert.ok(p > 0 && p < 100, `mid-upload (${p} %)`)
      await page.click(`${entry('documents', 'cancel.bin')} button.cancel`)
      await page.waitForSelector(entry('documents', 'cancel.bin'), { state: 'detached' })
      await until(() => temps().length === 0, 'the temporary file removed')
    },
    opts,
  )

  e2e(
    'closing the tab mid-upload leaves no temporary file',
    async (x) => {
      const page = await open(x)
      await page.evaluate(() => (window.__stallAfter = 20))
      await page.setInputFiles('#documents input[type=file]', file('close.bin', randomBytes(8_000_000)))
      await until(() => temps().length === 1, 'the temporary file while bytes arrive')
      await page.close()
      await until(() => temps().length === 0, 'the temporary file removed after the tab closed')
    },
    opts,
  )

  e2e(
    'without JavaScript both forms post as multipart, with the same limits',
    async (x) => {
      const page = await x.page(await x.context(env.browser, { javaScriptEnabled: false }))
      const statuses = []
      page.on('response', (r) => r.request().method() === 'POST' && statuses.push(r.status()))
      await page.goto(`${env.server.url}/uploads`)
      const post = (button) => Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(`button[name=${button}]`)])

      await page.setInputFiles('#avatar input[type=file]', file('me.png', PNG))
      await post('save_avatar')
      assert.equal((await page.textContent('#avatar-saved .name')).trim(), 'me.png')
      assert.equal(+(await page.getAttribute('#avatar-saved .size', 'data-bytes')), PNG.length)
      await until(() => page.$eval('#avatar-saved img', (i) => i.complete && i.naturalWidth === 1), 'the avatar image shown')

      await page.setInputFiles('#avatar input[type=file]', file('big.png', randomBytes(3_000_000)))
      await post('save_avatar')
      assert.ok(await page.$(`${entry('avatar', 'big.png')} [data-error=too_large]`), 'too_large without JS')
      await page.setInputFiles('#avatar input[type=file]', file('notes.txt', Buffer.from('hi')))
      await post('save_avatar')
      assert.ok(await page.$(`${entry('avatar', 'notes.txt')} [data-error=not_accepted]`), 'not_accepted without JS')

      const docs = [1, 2, 3, 4].map((i) => file(`nojs${i}.bin`, randomBytes(1000 * i)))
      await page.setInputFiles('#documents input[type=file]', docs)
      await post('save_documents')
      const sizes = await page.$$eval('#documents-saved .size', (s) => s.map((e) => +e.dataset.bytes))
      assert.deepEqual(sizes, [1000, 2000, 3000])
      assert.ok(await page.$(`${entry('documents', 'nojs4.bin')} [data-error=too_many_files]`), 'too_many_files without JS')
      const href = await page.getAttribute('#documents-saved li a', 'href')
      const saved = await page.request.get(`${env.server.url}${href}`)
      assert.equal(sha(await saved.body()), sha(readFileSync(docs[0])), 'the saved document is byte-identical')

      await page.setInputFiles('#documents input[type=file]', file('huge.bin', randomBytes(10_500_000)))
      await post('save_documents')
      assert.ok(await page.$(`${entry('documents', 'huge.bin')} [data-error=too_large]`), 'too_large document without JS')
      assert.ok(statuses.every((s) => s === 303), `POST statuses ${statuses}`)
      assert.equal(temps().length, 0, 'no temporary file left')
    },
    opts,
  )
})
