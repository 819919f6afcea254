// Issue 3 acceptance: live actions over the WebSocket, the same pages with JavaScript off,
// and reconnecting by itself after the server goes away.

import assert from 'node:assert/strict'
import { e2e, suite, waitLive, waitRootClass, waitText } from './helpers.mjs'

suite('basics', (env) => {

  e2e(
    'counter: increments over the WebSocket without navigating',
    async (x) => {
      const page = await x.page(await x.context(env.browser))
      await page.goto(`${env.server.url}/counter`)
      await waitLive(page)
      await waitText(page, '#count', '0')
      for (let i = 1; i <= 3; i++) {
        await page.click('button[name=increment]')
        await waitText(page, '#count', String(i))
      }
      assert.equal(await page.textContent('#count'), '3')
      assert.equal(page.lvt.navs, 1, 'main-frame navigations (only the initial load)')
      assert.equal(page.url(), `${env.server.url}/counter`)
      const actions = page.lvt.sockets.flatMap((s) => s.sent).filter((f) => f && f.a === 'increment')
      assert.equal(actions.length, 3, 'three increment frames went over the WebSocket')
      // The reply to each increment, as it arrived on the wire, is at most 40 bytes.
      for (const s of page.lvt.sockets) {
        for (const a of s.sent.filter((f) => f && f.a === 'increment')) {
          const i = s.received.findIndex((f) => f && f.r === a.r)
          assert.ok(i >= 0, `reply to ref ${a.r}`)
          assert.ok(s.receivedBytes[i] <= 40, `reply ${JSON.stringify(s.received[i])} is ${s.receivedBytes[i]} bytes`)
        }
      }
    },
    env.opts,
  )

  e2e(
    'counter: works with JavaScript disabled through POST and 303',
    async (x) => {
      const page = await x.page(await x.context(env.browser, { javaScriptEnabled: false }))
      const posts = []
      page.on('response', (r) => {
        if (r.request().method() === 'POST') posts.push(r.status())
      })
      await page.goto(`${env.server.url}/counter`)
      assert.equal((await page.textContent('#count')).trim(), '0')
      for (let i = 1; i <= 3; i++) {
        const navs = page.lvt.navs
        await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[name=increment]')])
        assert.equal(page.lvt.navs, navs + 1, `click ${i} navigated`)
        assert.equal((await page.textContent('#count')).trim(), String(i), `#count after POST + 303 number ${i}`)
      }
      assert.deepEqual(posts, [303, 303, 303], 'each click POSTed and was answered 303')
      assert.equal(page.lvt.navs, 4)
      assert.equal(page.lvt.sockets.length, 0, 'no WebSocket without JavaScript')
      const cls = (await page.getAttribute('[data-lvt-root]', 'class')) || ''
      assert.ok(!cls.includes('lvt-connected'), `root class "${cls}"`)
    },
    env.opts,
  )

  e2e(
    'thermostat: steps by 0.1 both ways',
    async (x) => {
      const page = await x.page(await x.context(env.browser))
      await page.goto(`${env.server.url}/thermostat`)
      await waitLive(page)
      await waitText(page, '#temp', '19.5')
      for (const [button, want] of [
        ['tempUp', '19.6'],
        ['tempUp', '19.7'],
        ['tempDown', '19.6'],
        ['tempDown', '19.5'],
      ]) {
        await page.click(`button[name=${button}]`)
        await waitText(page, '#temp', want)
      }
      assert.equal(page.lvt.navs, 1, 'no navigation')
    },
    env.opts,
  )

  e2e(
    'reconnect: the page comes back by itself after the server restarts',
    async (x) => {
      const page = await x.page(await x.context(env.browser))
      await page.goto(`${env.server.url}/counter`)
      await waitLive(page)
      await page.click('button[name=increment]')
      await waitText(page, '#count', '1')
      await page.click('button[name=increment]')
      await waitText(page, '#count', '2')
      const socketsBefore = page.lvt.sockets.length
      // A mark the next server render removes (morphdom syncs attributes): tells when it landed.
      await page.evaluate(() => document.querySelector('#count').setAttribute('data-e2e-stale', ''))

      await env.server.stop('SIGTERM')
      await waitRootClass(page, 'lvt-disconnected')
      await env.server.start()

      // No reload: the client reconnects with backoff by itself and morphs in the new server's render.
      await waitLive(page)
      assert.ok(page.lvt.sockets.length > socketsBefore, 'a new WebSocket was opened')
      await page.waitForSelector('#count:not([data-e2e-stale])', { timeout: 15_000 })
      assert.ok(!(await page.getAttribute('[data-lvt-root]', 'class')).includes('lvt-disconnected'))
      // The count is per connection (0 after a restart) unless the page persists it (2).
      const v = Number((await page.textContent('#count')).trim())
      assert.ok(v === 0 || v === 2, `count after the restart is ${v}`)
      await page.click('button[name=increment]')
      await waitText(page, '#count', String(v + 1))
      assert.equal(page.lvt.navs, 1, 'no navigation or reload happened')
    },
    env.opts,
  )
})
