// Issue 11: a frame that only changes list items patches those items' elements, not the whole
// live region. On /broadcasting, a second message is one inserted keyed row: the rows already
// there keep their elements, a mark put on an unrelated element by page script survives (a
// morph of the whole region would strip it, as the server never rendered it), and every DOM
// mutation of the update happens inside the messages container. /counter's count is the whole
// content of `<strong id="count">`: only that element's text changes.

import assert from 'node:assert/strict'
import { e2e, suite, waitLive, waitReply, waitText } from './helpers.mjs'

/**
 * Starts recording, in `window.__mutations`, every mutation under the live root (as "type path"
 * strings), but the loading classes' comings and goings.
 */
const record = (page) =>
  page.evaluate(() => {
    const root = document.querySelector('[data-lvt-root]')
    const seen = (window.__mutations = [])
    const name = (n) => (n.nodeType === 1 ? n.tagName.toLowerCase() + (n.id ? '#' + n.id : '') + (n.className ? '.' + n.className : '') : '#text')
    new MutationObserver((ms) => {
      for (const m of ms) {
        // The loading classes the client puts on a clicked element until its reply: not a morph.
        if (m.attributeName === 'class' && /-loading/.test(m.oldValue + ' ' + m.target.className)) continue
        const path = []
        for (let n = m.target; n && n !== root; n = n.parentNode) path.unshift(name(n))
        seen.push(`${m.type} ${path.join(' > ')}`)
      }
    }).observe(root, { subtree: true, childList: true, characterData: true, attributes: true, attributeOldValue: true })
  })

suite('scoped updates', (env) => {
  e2e(
    'broadcasting: a new message inserts one row; other rows and unrelated elements are left alone',
    async (x) => {
      const page = await x.page(await x.context(env.browser))
      await page.goto(`${env.server.url}/broadcasting`)
      await waitLive(page)
      await page.fill('input[name=username]', 'ann')
      await page.click('button[name=join]')
      await waitText(page, '#username', 'ann')
      const send = async (text) => {
        await page.fill('input[name=text]', text)
        await page.click('button[name=send]')
        await waitReply(page, 'send')
      }
      await send('first')
      await page.waitForFunction(() => document.querySelectorAll('.messages [data-key]').length === 1)
      await page.evaluate(() => {
        window.__first = document.querySelector('.messages [data-key]')
        document.querySelector('#username').setAttribute('data-mark', 'kept')
      })
      await record(page)
      await send('second')
      await page.waitForFunction(() => document.querySelectorAll('.messages [data-key]').length === 2)
      const state = await page.evaluate(() => ({
        same: document.querySelector('.messages [data-key]') === window.__first,
        mark: document.querySelector('#username').getAttribute('data-mark'),
        rows: [...document.querySelectorAll('.messages [data-key]')].map((e) => e.textContent.trim()),
        html: document.querySelector('.messages').innerHTML,
        mutations: window.__mutations,
      }))
      assert.deepEqual(state.rows, ['ann: first', 'ann: second'])
      assert.ok(state.same, 'the first row kept its element')
      assert.equal(state.mark, 'kept', 'an unrelated element was not morphed')
      assert.ok(state.mutations.length > 0, 'the update was observed')
      const outside = state.mutations.filter((m) => !/ div\.messages( > p|$)/.test(m))
      assert.deepEqual(outside, [], 'every mutation is inside the messages container')
      // The same markup, text between rows included, as the region's whole render would give.
      const whole = await page.evaluate(() => {
        const div = document.createElement('div')
        div.innerHTML = window.LiveTemplate.client.tree.html()
        return div.querySelector('.messages').innerHTML
      })
      assert.equal(state.html, whole)
      assert.equal(page.lvt.errors.length, 0, page.lvt.errors.join('\n'))
    },
    env.opts,
  )

  e2e(
    'counter: a click changes only the text of #count',
    async (x) => {
      const page = await x.page(await x.context(env.browser))
      await page.goto(`${env.server.url}/counter`)
      await waitLive(page)
      await page.evaluate(() => document.querySelector('h3').setAttribute('data-mark', 'kept'))
      await record(page)
      await page.click('button[name=increment]')
      await waitText(page, '#count', '1')
      const state = await page.evaluate(() => ({ mark: document.querySelector('h3').getAttribute('data-mark'), mutations: window.__mutations }))
      assert.equal(state.mark, 'kept', 'an unrelated element was not morphed')
      assert.ok(state.mutations.length > 0, 'the update was observed')
      assert.deepEqual(state.mutations.filter((m) => !/^(childList|characterData) .*strong#count/.test(m)), [], 'only #count changed')
    },
    env.opts,
  )
})
