// Issue 12 acceptance, streams: /streams is a feed on a stream (a text input `name="text"` and
// Send `name="send"` prepending a message, `name="add_many"` inserting 1,000 generated items,
// a Delete button `name="delete"` per item, Reset `name="reset"`, a limit of 5,000 items kept in
// the browser). Ten add_many show 5,000 items, each frame carrying only its new items (stream
// ops), a delete removes exactly one (one small frame, one element), reset empties; the page
// shows the server holding 0 items; the buttons work with JavaScript off.

import assert from 'node:assert/strict'
import { before } from 'node:test'
import { e2e, suite, until, waitLive, waitReply } from './helpers.mjs'

/** The items in the page: one Delete button each. */
const items = (page) => page.locator('button[name=delete]').count()

async function waitItems(page, n, timeout) {
  let last
  try {
    await until(async () => (last = await items(page)) === n, `${n} items in the page`, timeout)
  } catch (e) {
    e.message += ` (the page has ${last})`
    throw e
  }
}

/**
 * A number the page shows: the text of element `sel`, else the number after `label` (a regexp
 * source) in the page's text, commas allowed ("Items in the browser: 5,000").
 */
const shown = async (page, sel, label) => {
  const el = page.locator(sel)
  const own = (await el.count()) > 0
  const text = await (own ? el.first() : page.locator('[data-lvt-root]')).innerText()
  const m = new RegExp((own ? '' : label + '\\D{0,20}?') + '(\\d[\\d,]*)', 'i').exec(text)
  return m ? Number(m[1].replace(/,/g, '')) : undefined
}
const held = (page) => shown(page, '#server-held', '(?:held by the server|the server holds)')
const inBrowser = (page) => shown(page, '#in-browser', 'in the browser')

/** The stream ops of a frame: every `"x"` array anywhere in its `"d"` and `"c"`. */
const streamOps = (frame) => {
  const out = []
  const walk = (v) => {
    if (!v || typeof v !== 'object') return
    if (Array.isArray(v.x)) out.push(...v.x)
    for (const k in v) if (k !== 'x') walk(v[k])
  }
  walk(frame.d)
  walk(frame.c)
  return out
}

suite('streams', (env) => {
  let url
  before(() => {
    url = `${env.server.url}/streams`
  })

  e2e(
    'add_many ×10 shows 5,000 items, each frame only its new items; delete removes one; reset empties',
    async (x) => {
      const page = await x.page(await x.context(env.browser))
      await page.goto(url)
      await waitLive(page)
      await page.click('button[name=reset]')
      await waitReply(page, 'reset')
      await waitItems(page, 0)

      for (let k = 1; k <= 10; k++) {
        await page.click('button[name=add_many]')
        const reply = await waitReply(page, 'add_many', 30_000)
        assert.equal(reply.e, undefined, `add_many ${k}: ${JSON.stringify(reply.e)}`)
        const ops = streamOps(reply)
        assert.equal(ops.filter((o) => o[0] === 'i').length, 1000, `add_many ${k} sent 1,000 inserts`)
        assert.equal(ops.filter((o) => o[0] === 'r').length, 0, `add_many ${k} sent no reset`)
        await waitItems(page, Math.min(1000 * k, 5000), 30_000)
      }
      assert.equal(await items(page), 5000, 'the limit keeps 5,000 items in the browser')
      assert.equal(await inBrowser(page), 5000, 'the page shows 5,000 items in the browser')
      assert.equal(await held(page), 0, 'the server holds none')

      // Delete one: exactly that item goes, with one small frame.
      const victim = page.locator('button[name=delete]').nth(1234)
      const id = await victim.getAttribute('value')
      await page.evaluate(() => {
        const root = document.querySelector('[data-lvt-root]')
        window.__removed = []
        new MutationObserver((ms) => {
          for (const m of ms) for (const n of m.removedNodes) if (n.nodeType === 1) window.__removed.push(n.outerHTML.slice(0, 200))
        }).observe(root, { subtree: true, childList: true })
      })
      await victim.click()
      const reply = await waitReply(page, 'delete')
      const bytes = JSON.stringify(reply).length
      assert.ok(bytes < 300, `the delete's reply is ${bytes} bytes: ${JSON.stringify(reply)}`)
      assert.deepEqual(
        streamOps(reply).map((o) => o[0]),
        ['d'],
        `one delete op: ${JSON.stringify(reply)}`,
      )
      await waitItems(page, 4999)
      assert.equal(await page.locator(`button[name=delete][value="${id}"]`).count(), 0, 'that item is gone')
      const removed = await page.evaluate(() => window.__removed)
      assert.equal(removed.filter((h) => h.includes(`value="${id}"`)).length, 1, 'its element was removed')
      assert.ok(removed.length <= 2, `only its element (and its spacing) left the page: ${removed.length} elements`)

      await page.click('button[name=reset]')
      await waitReply(page, 'reset')
      await waitItems(page, 0)
      assert.equal(await inBrowser(page), 0, 'the page shows no items in the browser')
      assert.equal(await held(page), 0, 'the server holds none')
      assert.equal(page.lvt.errors.length, 0, page.lvt.errors.join('\n'))
    },
    { ...env.opts, timeout: 180_000 },
  )

  e2e(
    'send prepends a message, patching the feed in place',
    async (x) => {
      const page = await x.page(await x.context(env.browser))
      await page.goto(url)
      await waitLive(page)
      await page.click('button[name=reset]')
      await waitReply(page, 'reset')
      for (const text of ['first message', 'second message']) {
        await page.fill('input[name=text]', text)
        await page.click('button[name=send]')
        await waitReply(page, 'send')
      }
      await waitItems(page, 2)
      const firstItem = page.locator('button[name=delete]').first()
      // The newest first: the item holding the first Delete button shows "second message".
      const itemText = () => firstItem.evaluate((b) => b.closest('li, tr, article, [id]')?.textContent ?? '')
      assert.match(await itemText(), /second message/)
      const kept = await page.evaluate(() => (window.__old = document.querySelectorAll('button[name=delete]')[0]) && true)
      assert.ok(kept)
      await page.fill('input[name=text]', 'third message')
      await page.click('button[name=send]')
      const reply = await waitReply(page, 'send')
      assert.equal(streamOps(reply).filter((o) => o[0] === 'i').length, 1, 'one insert sent')
      await waitItems(page, 3)
      assert.match(await itemText(), /third message/)
      const same = await page.evaluate(() => document.querySelectorAll('button[name=delete]')[1] === window.__old)
      assert.ok(same, 'the items already there kept their elements')
      assert.equal(await held(page), 0, 'the server holds none')
    },
    env.opts,
  )

  e2e(
    'send, add_many, delete and reset work with JavaScript off (POST + 303)',
    async (x) => {
      const page = await x.page(await x.context(env.browser, { javaScriptEnabled: false }))
      const posts = []
      page.on('response', (r) => {
        if (r.request().method() === 'POST') posts.push(r.status())
      })
      await page.goto(url)
      const post = (click) => Promise.all([page.waitForNavigation({ waitUntil: 'load' }), click()])
      await post(() => page.click('button[name=reset]'))
      assert.equal(await items(page), 0)
      await page.fill('input[name=text]', 'no script')
      await post(() => page.click('button[name=send]'))
      assert.equal(await items(page), 1)
      assert.match(await page.locator('[data-lvt-root]').innerText(), /no script/)
      await post(() => page.click('button[name=add_many]'))
      assert.equal(await items(page), 1001)
      const id = await page.locator('button[name=delete]').nth(500).getAttribute('value')
      await post(() => page.locator('button[name=delete]').nth(500).click())
      assert.equal(await items(page), 1000, 'a delete removed exactly one')
      assert.equal(await page.locator(`button[name=delete][value="${id}"]`).count(), 0, 'that one')
      await post(() => page.click('button[name=reset]'))
      assert.equal(await items(page), 0, 'reset emptied the feed')
      assert.deepEqual(posts, [303, 303, 303, 303, 303], 'each click POSTed and was answered 303')
      assert.equal(page.lvt.sockets.length, 0, 'no WebSocket without JavaScript')
    },
    { ...env.opts, timeout: 120_000 },
  )
})
