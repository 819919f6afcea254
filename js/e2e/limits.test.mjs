// Issue 9, point 3: limits slow a fast client down instead of dropping its state. A burst past
// the connection's message rate (50/s, burst 100) is read more slowly by the server, so every
// message is applied, in order, and the connection never closes.

import assert from 'node:assert/strict'
import { e2e, suite, waitLive, waitText } from './helpers.mjs'

/** Counts, in the page, every time the live root shows `lvt-disconnected`. */
const watchDisconnects = (page) =>
  page.evaluate(() => {
    const root = document.querySelector('[data-lvt-root]')
    window.__lvtDisconnects = 0
    new MutationObserver(() => {
      if (root.classList.contains('lvt-disconnected')) window.__lvtDisconnects++
    }).observe(root, { attributes: true, attributeFilter: ['class'] })
  })

const assertNeverClosed = async (page) => {
  assert.equal(await page.evaluate(() => window.__lvtDisconnects), 0, 'the root never showed lvt-disconnected')
  assert.equal(page.lvt.sockets.length, 1, 'one WebSocket for the whole test (no reconnect)')
  assert.equal(page.lvt.sockets[0].closed, false, 'the WebSocket never closed')
  const cls = await page.getAttribute('[data-lvt-root]', 'class')
  assert.ok(!cls.includes('lvt-error'), `root class "${cls}"`)
}

suite('limits', (env) => {
  e2e(
    'counter: 200 synchronous clicks show 200 and the connection never closes',
    async (x) => {
      const page = await x.page(await x.context(env.browser))
      await page.goto(`${env.server.url}/counter`)
      await waitLive(page)
      await watchDisconnects(page)
      await page.evaluate(() => {
        const button = document.querySelector('button[name=increment]')
        for (let i = 0; i < 200; i++) button.click()
      })
      await waitText(page, '#count', '200', 30_000)
      const sent = page.lvt.sockets[0].sent.filter((f) => f && f.a === 'increment')
      assert.equal(sent.length, 200, 'every click went over the WebSocket')
      const replies = page.lvt.sockets[0].received.filter((f) => f && f.r != null)
      assert.deepEqual(
        replies.map((f) => f.r),
        sent.map((f) => f.r),
        'one reply per click, in the order sent',
      )
      assert.ok(replies.every((f) => f.e == null), 'no error replies')
      await assertNeverClosed(page)
    },
    env.opts,
  )

  e2e(
    'hook: 300 pushEvent calls all arrive, in order, on one connection',
    async (x) => {
      const context = await x.context(env.browser)
      // The page's hook, registered before the client boots: on mount, 300 events at once.
      await context.addInitScript(() => {
        window.LiveTemplate = {
          hooks: {
            Events: {
              mounted() {
                window.__lvtPushed = []
                for (let n = 1; n <= 300; n++) this.pushEvent('event', { n }).then((err) => window.__lvtPushed.push(err || 'ok'))
              },
            },
          },
        }
      })
      const page = await x.page(context)
      await page.goto(`${env.server.url}/hook-events`)
      await waitLive(page)
      await watchDisconnects(page)
      await waitText(page, '#received', '300', 30_000)
      assert.equal((await page.textContent('#last')).trim(), '300')
      assert.equal((await page.textContent('#out-of-order')).trim(), '0', 'every event came right after the one before')
      const settled = await page.evaluate(() => window.__lvtPushed)
      assert.equal(settled.length, 300)
      assert.ok(settled.every((s) => s === 'ok'), `pushEvent results: ${[...new Set(settled)]}`)
      await assertNeverClosed(page)
    },
    env.opts,
  )
})
