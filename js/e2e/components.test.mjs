// Issue 12 acceptance, components: /components shows three counter components (each in its
// `[lvt-component]` wrapper, with `+` / `−` buttons `name="inc"` / `name="dec"` and a name
// form) and the page's total. A component's buttons change only their instance (every DOM
// mutation is inside it or the total), its action goes out with the instance as target
// (`"t"`), and the reply to an action that does not concern the page (renaming) carries no
// `"d"`; the total follows every count; the persisted instance survives a reload (the others
// start again); and the buttons work with JavaScript off (POST + 303).

import assert from 'node:assert/strict'
import { before } from 'node:test'
import { e2e, suite, until, waitLive, waitReply } from './helpers.mjs'

// The page's markup this file relies on (examples/patterns, templates of /components).
const WRAPPER = '[lvt-component]'
/** Inside a wrapper: the element showing its count. */
const COUNT = '.count'
/** The element showing the page's total. */
const TOTAL = '#total'
/** The text of the persisted instance (and only of it) says so. */
const PERSISTED = /persist|saved|survives a reload/i

/** The number an element shows (its first integer). */
const num = (text) => {
  const m = /-?\d+/.exec(text || '')
  if (!m) throw new Error(`no number in ${JSON.stringify(text)}`)
  return Number(m[0])
}

/** Every instance's id and count, in page order, and the page's total. */
const state = (page) =>
  page.evaluate(
    ([w, c, t]) => ({
      ids: [...document.querySelectorAll(w)].map((e) => e.getAttribute('lvt-component')),
      counts: [...document.querySelectorAll(w)].map((e) => e.querySelector(c)?.textContent ?? ''),
      total: document.querySelector(t)?.textContent ?? '',
    }),
    [WRAPPER, COUNT, TOTAL],
  ).then((s) => ({ ids: s.ids, counts: s.counts.map(num), total: num(s.total) }))

/** Waits until the counts are `counts` and the total their sum. */
async function waitCounts(page, counts) {
  let last
  try {
    await until(async () => {
      last = await state(page)
      return JSON.stringify(last.counts) === JSON.stringify(counts) && last.total === counts.reduce((a, b) => a + b, 0)
    }, `counts ${JSON.stringify(counts)}`)
  } catch (e) {
    e.message += ` (page shows ${JSON.stringify(last)})`
    throw e
  }
}

/** The index of the instance whose text says it is persisted (-1: none). */
const persistedIndex = (page) =>
  page.evaluate(([w, re]) => [...document.querySelectorAll(w)].findIndex((e) => new RegExp(re, 'i').test(e.textContent)), [WRAPPER, PERSISTED.source])

/** Clicks button `name` of the `i`-th instance. */
const press = (page, i, name) => page.locator(WRAPPER).nth(i).locator(`button[name=${name}]`).click()

/** Starts recording, in `window.__mutations`, every DOM mutation under the live root with the instance it is in. */
const record = (page) =>
  page.evaluate((w) => {
    const root = document.querySelector('[data-lvt-root]')
    const seen = (window.__mutations = [])
    new MutationObserver((ms) => {
      for (const m of ms) {
        // The loading classes the client puts on a clicked element until its reply: not a patch.
        if (m.attributeName === 'class' && /-loading/.test(m.oldValue + ' ' + m.target.className)) continue
        const el = m.target.nodeType === 1 ? m.target : m.target.parentElement
        const inst = el.closest(w)
        seen.push({ type: m.type, in: inst ? inst.getAttribute('lvt-component') : null, text: el.textContent.slice(0, 80) })
      }
    }).observe(root, { subtree: true, childList: true, characterData: true, attributes: true, attributeOldValue: true })
  }, WRAPPER)

suite('components', (env) => {
  let url
  before(() => {
    url = `${env.server.url}/components`
  })

  e2e(
    'a counter\'s buttons change only that instance, the total follows, the action targets the instance',
    async (x) => {
      const page = await x.page(await x.context(env.browser))
      await page.goto(url)
      await waitLive(page)
      const { ids } = await state(page)
      assert.equal(ids.length, 3, 'three instances')
      assert.equal(new Set(ids).size, 3, 'with distinct ids')
      await waitCounts(page, [0, 0, 0])

      const others = await page.evaluate((w) => {
        const all = [...document.querySelectorAll(w)]
        window.__kept = all.map((e) => e.querySelector('button'))
        return all.length
      }, WRAPPER)
      assert.equal(others, 3)
      await record(page)
      await press(page, 1, 'inc')
      const reply = await waitReply(page, 'inc')
      await waitCounts(page, [0, 1, 0])
      const sent = page.lvt.sockets.at(-1).sent.filter((f) => f && f.a === 'inc')
      assert.deepEqual(sent.map((f) => f.t), [ids[1]], 'the action went to the second instance')
      assert.ok(reply.c, `the reply carries the instance's diff: ${JSON.stringify(reply)}`)
      // The page's part of the reply is the total, nothing of the instance's markup.
      assert.ok(!reply.d || JSON.stringify(reply.d).length < 60, `the page's diff is small: ${JSON.stringify(reply.d)}`)

      const muts = await page.evaluate(() => window.__mutations)
      assert.ok(muts.some((m) => m.in === ids[1]), 'the second instance changed')
      const elsewhere = muts.filter((m) => m.in !== ids[1])
      assert.deepEqual(
        elsewhere.filter((m) => m.in !== null),
        [],
        'no mutation inside the other instances',
      )
      // Outside the instances, only the total's text changed.
      for (const m of elsewhere) assert.ok(m.type !== 'attributes' && /1/.test(m.text), `mutation outside: ${JSON.stringify(m)}`)
      const kept = await page.evaluate((w) => [...document.querySelectorAll(w)].every((e, i) => e.querySelector('button') === window.__kept[i]), WRAPPER)
      assert.ok(kept, 'every instance kept its elements')

      await press(page, 0, 'inc')
      await waitCounts(page, [1, 1, 0])
      await press(page, 2, 'dec')
      await waitCounts(page, [1, 1, -1])
      await press(page, 2, 'inc')
      await press(page, 2, 'inc')
      await waitCounts(page, [1, 1, 1])
      assert.equal(page.lvt.navs, 1, 'no navigation')
      assert.equal(page.lvt.errors.length, 0, page.lvt.errors.join('\n'))
    },
    env.opts,
  )

  e2e(
    'renaming an instance answers with its diff only: no "d" for the page',
    async (x) => {
      const page = await x.page(await x.context(env.browser))
      await page.goto(url)
      await waitLive(page)
      const { ids } = await state(page)
      const inst = page.locator(WRAPPER).nth(0)
      const form = inst.locator('form:has(input:not([type=hidden]))').first()
      const field = form.locator('input:not([type=hidden])').first()
      const button = form.locator('button').first()
      const action = await button.getAttribute('name')
      assert.ok(action, 'the name form\'s button has a name (its action)')
      const before = await page.locator(WRAPPER).nth(1).textContent()
      // Marks page script puts on the other instances and on the page's first element: a morph
      // of the whole region would strip them (the server never rendered them); patching only
      // the renamed instance's wrapper leaves them.
      await page.evaluate((w) => {
        for (const e of [...document.querySelectorAll(w)].slice(1)) e.setAttribute('data-mark', 'kept')
        document.querySelector('[data-lvt-root]').firstElementChild.setAttribute('data-mark', 'kept')
      }, WRAPPER)
      await field.fill('Renamed one')
      await button.click()
      const reply = await waitReply(page, action)
      const sent = page.lvt.sockets.at(-1).sent.filter((f) => f && f.a === action).at(-1)
      assert.equal(sent.t, ids[0], 'the form\'s action went to its instance')
      assert.equal(reply.e, undefined, `no error: ${JSON.stringify(reply)}`)
      assert.ok(reply.c && reply.c[Object.keys(reply.c)[0]], `the reply carries the instance's diff: ${JSON.stringify(reply)}`)
      assert.equal(reply.d, undefined, `no page diff in ${JSON.stringify(reply)}`)
      await until(async () => (await inst.textContent()).includes('Renamed one'), 'the new name in the first instance')
      assert.equal(await page.locator(WRAPPER).nth(1).textContent(), before, 'the second instance is as it was')
      const marks = await page.evaluate(() => document.querySelectorAll('[data-mark=kept]').length)
      assert.equal(marks, 3, 'only the renamed instance was patched (the marks elsewhere are still there)')
    },
    env.opts,
  )

  e2e(
    'the persisted instance survives a reload, the others start again',
    async (x) => {
      const ctx = await x.context(env.browser)
      const page = await x.page(ctx)
      await page.goto(url)
      await waitLive(page)
      // The persisted instance says so in its text.
      const persisted = await persistedIndex(page)
      assert.ok(persisted >= 0, 'one instance is labelled as persisted')
      const want = [0, 0, 0]
      for (let i = 0; i < 3; i++) {
        await press(page, i, 'inc')
        want[i]++
        await waitCounts(page, want)
      }
      await press(page, persisted, 'inc')
      want[persisted]++
      await waitCounts(page, want)

      await page.reload()
      const after = want.map((n, i) => (i === persisted ? n : 0))
      // In the server's HTML already, and still so once live.
      const first = await state(page)
      assert.deepEqual(first.counts, after, 'counts in the reloaded page\'s HTML')
      await waitLive(page)
      await waitCounts(page, after)
      await press(page, persisted, 'inc')
      after[persisted]++
      await waitCounts(page, after)

      // Another tab of the browser (same group): the persisted count is there too.
      const tab = await x.page(ctx)
      await tab.goto(url)
      await waitLive(tab)
      await waitCounts(tab, after)
    },
    env.opts,
  )

  e2e(
    'the buttons work with JavaScript off (POST + 303), each changing its own instance and the total',
    async (x) => {
      const page = await x.page(await x.context(env.browser, { javaScriptEnabled: false }))
      const posts = []
      page.on('response', (r) => {
        if (r.request().method() === 'POST') posts.push(r.status())
      })
      await page.goto(url)
      const click = async (i, name) => {
        await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), press(page, i, name)])
      }
      const persisted = await persistedIndex(page)
      // A new browser context: a new group, so the persisted instance starts at 0 too.
      assert.deepEqual((await state(page)).counts, [0, 0, 0])
      await click(0, 'inc')
      assert.deepEqual((await state(page)).counts, [1, 0, 0])
      await click(2, 'inc')
      await click(2, 'inc')
      await click(1, 'dec')
      const s = await state(page)
      assert.deepEqual(s.counts, [1, -1, 2])
      assert.equal(s.total, 2, 'the total')
      assert.deepEqual(posts, [303, 303, 303, 303], 'each click POSTed and was answered 303')
      assert.equal(page.lvt.sockets.length, 0, 'no WebSocket without JavaScript')
      // The no-JS name form reaches its instance too (the hidden lvt-target field).
      const inst = page.locator(WRAPPER).nth(1)
      const form = inst.locator('form:has(input:not([type=hidden]))').first()
      await form.locator('input:not([type=hidden])').first().fill('No script')
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), form.locator('button').first().click()])
      assert.match(await page.locator(WRAPPER).nth(1).textContent(), /No script/)
      assert.doesNotMatch(await page.locator(WRAPPER).nth(0).textContent(), /No script/)
      assert.deepEqual((await state(page)).counts, [1, -1, 2], 'the counts are kept')
      if (persisted >= 0) {
        await page.reload()
        assert.equal((await state(page)).counts[persisted], [1, -1, 2][persisted], 'the persisted count after a reload')
      }
    },
    env.opts,
  )
})
