// URL patching (seed 002's live-patch and server-side URL patching) on /url-params: lvt-patch
// links, back and forward, an action's push_patch, reloads, and the same links without
// JavaScript.

import assert from 'node:assert/strict'
import { e2e, suite, until, waitLive, waitReply, waitText } from './helpers.mjs'

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

// Live navigation on /navigation and /navigation/details: one WebSocket and one document
// across pages, back/forward, the layout's input keeping focus and text, titles, and the
// flash across push_navigate, dismissal and the no-JS 303.
suite('live navigation', (env) => {
  const title = (page) => page.evaluate(() => document.title)
  const partShown = (page) =>
    page.evaluate(() => Math.abs(document.getElementById('part-3').getBoundingClientRect().top) < 5)

  e2e(
    'lvt-navigate keeps one WebSocket and one document; back/forward; the layout input keeps focus and text; titles',
    async (x) => {
      const page = await x.page(await x.context(env.browser))
      let loads = 0
      page.on('load', () => loads++)
      await page.goto(`${env.server.url}/navigation`)
      await waitLive(page)
      assert.equal(await title(page), 'Count 0', 'the title the page set, on GET')
      await page.evaluate(() => (window.__kept = 'same document'))

      // A live title.
      await page.click('button[name=increment]')
      await waitText(page, '#count', '1')
      await until(async () => (await title(page)) === 'Count 1', 'the title to follow the count')
      await page.fill('#notes', 'typed in the layout')
      await page.focus('#notes')

      // A link in the layout, clicked while the focus stays in the input.
      await page.evaluate(() => document.getElementById('nav-details').click())
      await waitText(page, '#details-title', 'Details')
      assert.equal(new URL(page.url()).pathname, '/navigation/details')
      assert.equal(await title(page), 'Details')
      assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), 'notes')
      assert.equal(await page.inputValue('#notes'), 'typed in the layout')

      // A link to a part of another page: scrolled to it; back home: scrolled to the top.
      await page.click('#nav-home')
      await waitText(page, '#count', '1')
      await page.click('#nav-part')
      await waitText(page, '#details-title', 'Details')
      assert.equal(new URL(page.url()).hash, '#part-3')
      await until(() => partShown(page), 'part 3 scrolled into view')
      await page.click('#nav-home')
      await waitText(page, '#count', '1')
      assert.equal(await title(page), 'Count 1')
      await until(() => page.evaluate(() => window.scrollY === 0), 'the top of the page')

      // Back and forward across the pages.
      await page.goBack()
      await waitText(page, '#details-title', 'Details')
      assert.equal(new URL(page.url()).pathname + new URL(page.url()).hash, '/navigation/details#part-3')
      await page.goBack()
      await waitText(page, '#count', '1')
      assert.equal(new URL(page.url()).pathname, '/navigation')
      await page.goForward()
      await waitText(page, '#details-title', 'Details')

      // Links within the page (the same path): the browser scrolls, the server hears nothing.
      await page.click('#nav-details')
      await page.evaluate(() => window.scrollTo(0, 0))
      await page.click('#nav-part')
      await until(() => partShown(page), 'part 3 scrolled into view by the browser')

      assert.equal(await page.evaluate(() => window.__kept), 'same document', 'no document load')
      assert.equal(loads, 1, 'one load event')
      assert.equal(page.lvt.sockets.length, 1, 'one WebSocket throughout')
      const ns = page.lvt.sockets[0].sent.filter((f) => f && f.n).map((f) => f.n)
      assert.deepEqual(
        ns,
        [
          '/navigation/details',
          '/navigation',
          '/navigation/details#part-3',
          '/navigation',
          '/navigation/details#part-3',
          '/navigation',
          '/navigation/details#part-3',
        ],
        'n frames: the clicks across pages, then back, back, forward',
      )
      assert.equal(await page.inputValue('#notes'), 'typed in the layout')
      assert.deepEqual(page.lvt.errors, [])

      // A reload lands on the page the address bar shows.
      await page.reload()
      await waitLive(page)
      await waitText(page, '#details-title', 'Details')
    },
    env.opts,
  )

  e2e(
    'push_navigate carries its flash to the next page; a click dismisses it; the next navigation clears it',
    async (x) => {
      const page = await x.page(await x.context(env.browser))
      await page.goto(`${env.server.url}/navigation`)
      await waitLive(page)
      assert.equal(await page.isHidden('#flash-info'), true)
      await page.click('button[name=goDetails]')
      await waitText(page, '#details-title', 'Details')
      await waitText(page, '#flash-info', 'Moved here by push_navigate (count 0)')
      assert.equal(await page.isVisible('#flash-info'), true)
      assert.equal(new URL(page.url()).pathname, '/navigation/details')
      // Stays through the page's own renders.
      await page.click('button[name=ping]')
      await waitText(page, '#pings', '1')
      assert.equal(await page.isVisible('#flash-info'), true)
      // Dismissed by a click, on the server too (a later render does not bring it back).
      await page.click('#flash-info')
      assert.equal(await page.isHidden('#flash-info'), true)
      await waitReply(page, 'lvt:clear_flash')
      await page.click('button[name=ping]')
      await waitText(page, '#pings', '2')
      assert.equal(await page.isHidden('#flash-info'), true)
      // An error flash, cleared by the next navigation.
      await page.click('button[name=warn]')
      await until(() => page.isVisible('#flash-error'), 'the error flash')
      await page.click('#nav-home')
      await waitText(page, '#count', '0')
      assert.equal(await page.isHidden('#flash-error'), true)
      assert.equal(page.lvt.sockets.length, 1)
    },
    env.opts,
  )

  e2e(
    'without JavaScript: links load pages, titles render, the flash survives the 303 once',
    async (x) => {
      const page = await x.page(await x.context(env.browser, { javaScriptEnabled: false }))
      await page.goto(`${env.server.url}/navigation`)
      assert.equal(await title(page), 'Count 0')
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[name=increment]')])
      assert.equal(await title(page), 'Count 1')
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[name=goDetails]')])
      assert.equal(new URL(page.url()).pathname, '/navigation/details')
      assert.equal((await page.textContent('#flash-info')).trim(), 'Moved here by push_navigate (count 1)')
      assert.equal(await page.isVisible('#flash-info'), true)
      assert.equal(await title(page), 'Details')
      await page.reload()
      assert.equal(await page.isHidden('#flash-info'), true, 'shown once')
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#nav-home')])
      assert.equal(new URL(page.url()).pathname, '/navigation')
    },
    env.opts,
  )
})
