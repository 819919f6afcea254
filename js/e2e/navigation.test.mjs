// URL patching (seed 002's live-patch and server-side URL patching) on /url-params: lvt-patch
// links, back and forward, an action's push_patch, reloads, and the same links without
// JavaScript.

import assert from 'node:assert/strict'
import { e2e, suite, until, waitLive, waitText } from './helpers.mjs'

suite('navigation', (env) => {
  const items = (page) => page.$$eval('#items li', (lis) => lis.map((li) => li.textContent.trim()))

  e2e(
    'lvt-patch links, back/forward and push_patch move the page on one connection; a reload keeps it',
    async (x) => {
      const page = await x.page(await x.context(env.browser))
      await page.goto(`${env.server.url}/url-params`)
      await waitLive(page)
      assert.deepEqual(await items(page), ['Item 1', 'Item 2', 'Item 3', 'Item 4', 'Item 5'])
      const sockets = page.lvt.sockets.length
      // Survives only as long as the document does.
      await page.evaluate(() => (window.__kept = 'same document'))

      await page.click('#next')
      await waitText(page, '#page', '2')
      assert.equal(new URL(page.url()).search, '?page=2')
      assert.deepEqual(await items(page), ['Item 6', 'Item 7', 'Item 8', 'Item 9', 'Item 10'])
      await page.click('#next')
      await waitText(page, '#page', '3')

      await page.goBack()
      await waitText(page, '#page', '2')
      assert.equal(new URL(page.url()).search, '?page=2')
      await page.goBack()
      await waitText(page, '#page', '1')
      assert.equal(new URL(page.url()).search, '')
      await page.goForward()
      await waitText(page, '#page', '2')

      // An action moves the URL; the page follows it.
      await page.click('button[name=lastPage]')
      await waitText(page, '#page', '5')
      assert.equal(new URL(page.url()).search, '?page=5')
      assert.deepEqual(await items(page), ['Item 21', 'Item 22', 'Item 23'])

      assert.equal(await page.evaluate(() => window.__kept), 'same document', 'no page load for patches, back or forward')
      assert.equal(page.lvt.sockets.length, sockets, 'one connection throughout')
      const params = page.lvt.sockets.flatMap((s) => s.sent).filter((f) => f && f.p)
      assert.deepEqual(
        params.map((f) => f.p),
        ['/url-params?page=2', '/url-params?page=3', '/url-params?page=2', '/url-params', '/url-params?page=2'],
      )

      // A reload, or the URL shared, shows the same page from the server's HTML.
      await page.reload()
      await waitText(page, '#page', '5')
      const html = await (await fetch(`${env.server.url}/url-params?page=4`)).text()
      assert.match(html, /<strong id="page">4<\/strong>/)
      assert.match(html, /Item 16/)
    },
    env.opts,
  )

  e2e(
    'without JavaScript the links are plain links and the button posts',
    async (x) => {
      const page = await x.page(await x.context(env.browser, { javaScriptEnabled: false }))
      await page.goto(`${env.server.url}/url-params`)
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#next')])
      assert.equal((await page.textContent('#page')).trim(), '2')
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[name=lastPage]')])
      await until(async () => new URL(page.url()).search === '?page=5', 'the 303 to ?page=5')
      assert.equal((await page.textContent('#page')).trim(), '5')
    },
    env.opts,
  )
})
