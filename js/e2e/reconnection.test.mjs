// Issue 4 acceptance: `#[lvt(persist)]` fields of /reconnection survive reloads, a kill -9 of
// the server and new tabs, are shared by the tabs of one browser (the lvt_group cookie) and not
// by another; `lvt-form:preserve` keeps an unsaved, focused draft through re-renders. Notes
// over the server's frame limit are refused with an error, not lost; a save while the server
// is down stays on the page.

import assert from 'node:assert/strict'
import { before } from 'node:test'
import { e2e, suite, until, waitLive, waitReply, waitRootClass, waitText } from './helpers.mjs'

const NOTES = '  two\nlines  '

const notes = (page) => page.inputValue('textarea[name=notes]')

/** Waits until the notes textarea holds exactly `want`. */
async function waitNotes(page, want) {
  try {
    await page.waitForFunction((w) => document.querySelector('textarea[name=notes]')?.value === w, want, {
      timeout: 15_000,
      polling: 20,
    })
  } catch (e) {
    throw new Error(`notes never became ${JSON.stringify(want)} (are ${JSON.stringify(await notes(page))})`, {
      cause: e,
    })
  }
}

/** A page of `ctx` on `url` (/reconnection), live, whose saved notes are "saved". */
async function openWithSavedNotes(x, ctx, url) {
  const page = await x.page(ctx)
  await page.goto(url)
  await waitLive(page)
  await page.fill('textarea[name=notes]', 'saved')
  await page.click('button[name=saveNotes]')
  await waitReply(page, 'saveNotes')
  await waitNotes(page, 'saved')
  return page
}

/** Replaces the notes textarea's text by typing `draft` into it (focus stays there). */
async function typeDraft(page, draft) {
  await page.click('textarea[name=notes]')
  await page.keyboard.press('ControlOrMeta+A')
  await page.keyboard.type(draft)
}

/** The notes textarea's value, selection and whether it has focus. */
const draftState = (page) =>
  page.evaluate(() => {
    const t = document.querySelector('textarea[name=notes]')
    return { value: t.value, start: t.selectionStart, end: t.selectionEnd, focused: document.activeElement === t }
  })

/** Records the root's `lvt:<name>` events of `page` in `window.__lvt[name]` (details, elements left out). */
const record = (page, ...names) =>
  page.evaluate((names) => {
    window.__lvt = window.__lvt || {}
    for (const name of names) {
      window.__lvt[name] = []
      document.addEventListener(`lvt:${name}`, (e) => {
        const { el, ...rest } = e.detail
        window.__lvt[name].push(el ? { ...rest, el: el.tagName } : rest)
      })
    }
  }, names)

/** Waits until `page` recorded at least one `lvt:<name>` event and returns them all. */
const recorded = (page, name) =>
  until(
    async () => {
      const got = await page.evaluate((n) => window.__lvt[n], name)
      return got.length ? got : null
    },
    `an lvt:${name} event`,
  )

const rootClass = (page) => page.getAttribute('[data-lvt-root]', 'class')

/** Lines the server logged since `from` (an index into its log). */
const logSince = (server, from) => server.log.slice(from).join('\n')

async function increment(page, to) {
  await page.click('button[name=increment]')
  await waitText(page, '#counter', String(to))
}

suite('reconnection', (env) => {
  let url
  before(() => {
    url = `${env.server.url}/reconnection`
  })

  e2e(
    'counter and notes survive a reload, a kill -9 of the server and a new tab',
    async (x) => {
      const ctx = await x.context(env.browser)
      const page = await x.page(ctx)
      await page.goto(url)
      await waitLive(page)
      await waitText(page, '#counter', '0')
      for (let i = 1; i <= 3; i++) await increment(page, i)
      await page.fill('textarea[name=notes]', NOTES)
      await page.click('button[name=saveNotes]')
      await waitReply(page, 'saveNotes')
      assert.equal(await notes(page), NOTES)

      // Reload: restored before the first render, so the server's HTML already has them.
      await page.reload()
      assert.equal((await page.textContent('#counter')).trim(), '3', 'counter in the reloaded page')
      assert.equal(await notes(page), NOTES, 'notes in the reloaded page')
      await waitLive(page)
      await waitText(page, '#counter', '3')
      assert.equal(await notes(page), NOTES)
      const res = await ctx.request.get(url)
      assert.equal(res.status(), 200)
      const html = await res.text()
      assert.ok(html.includes('id="counter">3<'), 'GET body has the counter 3')
      assert.ok(html.includes('>3<'))
      assert.ok(html.includes(NOTES), `GET body has the notes verbatim:\n${html}`)

      // kill -9 and restart on the same port and store: the open page comes back by itself.
      const navs = page.lvt.navs
      await env.server.kill()
      await waitRootClass(page, 'lvt-disconnected')
      await env.server.start()
      await waitLive(page)
      await waitText(page, '#counter', '3')
      assert.equal(await notes(page), NOTES)
      assert.equal(page.lvt.navs, navs, 'no reload')
      // and still live: the next increment continues from the restored value
      await increment(page, 4)

      const tab = await x.page(ctx)
      await tab.goto(url)
      assert.equal((await tab.textContent('#counter')).trim(), '4', 'new tab, first HTML')
      assert.equal(await notes(tab), NOTES)
      await waitLive(tab)
      await waitText(tab, '#counter', '4')
      assert.equal(await notes(tab), NOTES)
    },
    env.opts,
  )

  e2e(
    'two tabs of one browser share the persisted counter',
    async (x) => {
      const ctx = await x.context(env.browser)
      const one = await x.page(ctx)
      await one.goto(url) // first, so the lvt_group cookie exists before the second tab asks
      await waitLive(one)
      const two = await x.page(ctx)
      await two.goto(url)
      await waitLive(two)
      await waitText(two, '#counter', '0')

      await increment(one, 1)
      await increment(one, 2)

      // after a reload of tab 2
      await two.reload()
      await waitLive(two)
      await waitText(two, '#counter', '2')

      // tab 2 goes on from there; tab 1 sees it after it reconnects (no reload)
      await increment(two, 3)
      const navs = one.lvt.navs
      await one.evaluate(() => window.LiveTemplate.disconnect())
      await waitLive(one)
      await waitText(one, '#counter', '3')
      assert.equal(one.lvt.navs, navs, 'tab 1 did not reload')
    },
    env.opts,
  )

  e2e(
    'another browser context starts fresh',
    async (x) => {
      const a = await x.page(await x.context(env.browser))
      await a.goto(url)
      await waitLive(a)
      await increment(a, 1)
      await a.fill('textarea[name=notes]', 'mine')
      await a.click('button[name=saveNotes]')
      await waitReply(a, 'saveNotes')

      const b = await x.page(await x.context(env.browser))
      await b.goto(url)
      assert.equal((await b.textContent('#counter')).trim(), '0')
      assert.equal(await notes(b), '')
      await waitLive(b)
      await waitText(b, '#counter', '0')
      assert.equal(await notes(b), '')
    },
    env.opts,
  )

  e2e(
    'a focused unsaved draft keeps its text, focus and cursor through a re-render',
    async (x) => {
      const ctx = await x.context(env.browser)
      // Saved notes differ from the draft, so a re-render would put them back without preserve.
      const page = await openWithSavedNotes(x, ctx, url)

      const other = await x.page(ctx)
      await other.goto(url)
      await waitLive(other)
      await increment(other, 1)

      const draft = 'my draft\nsecond line'
      await typeDraft(page, draft)
      for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowLeft')
      const caret = draft.length - 5
      const before = await draftState(page)
      assert.deepEqual(before, { value: draft, start: caret, end: caret, focused: true })
      const counter = (await page.textContent('#counter')).trim()

      // A re-render of this tab while the textarea keeps focus: click increment from script.
      await page.evaluate(() => document.querySelector('button[name=increment]').click())
      await waitReply(page, 'increment')
      await page.waitForFunction((c) => document.querySelector('#counter').textContent.trim() !== c, counter, {
        timeout: 15_000,
        polling: 20,
      })
      const afterRender = await draftState(page)
      assert.deepEqual(afterRender, before, 'draft, focus and cursor after the re-render')

      // and typing goes on where the cursor was
      await page.keyboard.type('X')
      assert.equal(await notes(page), draft.slice(0, caret) + 'X' + draft.slice(caret))
    },
    env.opts,
  )

  e2e(
    'the other tab increments: this tab shows the new counter live, and its draft, focus and cursor stay',
    async (x) => {
      const ctx = await x.context(env.browser)
      const page = await openWithSavedNotes(x, ctx, url)
      const other = await x.page(ctx)
      await other.goto(url)
      await waitLive(other)
      const start = Number((await other.textContent('#counter')).trim())

      const draft = 'typing while\nthe other tab clicks'
      await typeDraft(page, draft)
      for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowLeft')
      const before = await draftState(page)

      for (let i = 1; i <= 3; i++) {
        await increment(other, start + i)
        // The persisted counter reaches this tab without a reload (pushed to the group's tabs).
        await waitText(page, '#counter', String(start + i))
        assert.deepEqual(await draftState(page), before, `draft, focus and cursor after the other tab's increment ${i}`)
      }
      assert.equal(page.lvt.navs, 1, 'no reload')
    },
    env.opts,
  )

  e2e(
    'an unsaved draft that lost focus survives a re-render (lvt-form:preserve)',
    async (x) => {
      const page = await openWithSavedNotes(x, await x.context(env.browser), url)
      await page.fill('textarea[name=notes]', 'unsaved draft')
      // A real click: focus leaves the textarea for the button, so only preserve keeps the draft.
      await increment(page, 1)
      assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'BUTTON')
      assert.equal(await notes(page), 'unsaved draft')
      await increment(page, 2)
      assert.equal(await notes(page), 'unsaved draft')

      // Saving takes the server's value (the draft, now saved).
      await page.click('button[name=saveNotes]')
      await waitReply(page, 'saveNotes')
      await waitNotes(page, 'unsaved draft')
      await page.reload()
      assert.equal(await notes(page), 'unsaved draft')
    },
    env.opts,
  )

  e2e(
    'notes over the frame limit are refused with an error: the text and the connection stay, the saved notes too',
    async (x) => {
      const page = await openWithSavedNotes(x, await x.context(env.browser), url)
      const limit = Number(await page.getAttribute('[data-lvt-root]', 'data-lvt-max-frame'))
      assert.equal(limit, 65536, 'the root states the server limit')
      await record(page, 'error')
      const socket = page.lvt.sockets.at(-1)
      const sockets = page.lvt.sockets.length
      const log = env.server.log.length

      const big = 'x'.repeat(70_000)
      await page.fill('textarea[name=notes]', big)
      await page.click('button[name=saveNotes]')
      const [error] = await recorded(page, 'error')
      const bytes = Buffer.byteLength(JSON.stringify({ a: 'saveNotes', d: { notes: big }, r: error.ref }))
      assert.deepEqual(error, {
        message: `message too large: ${bytes} bytes, the limit is ${limit}`,
        ref: error.ref,
        action: 'saveNotes',
      })
      assert.match(await rootClass(page), /\blvt-error\b/)
      assert.match(await rootClass(page), /\blvt-connected\b/)
      assert.equal(await page.locator('.lvt-submit-loading').count(), 0, 'no loading class left')
      assert.equal(await notes(page), big, 'the text is still there to copy or shorten')
      assert.ok(!socket.sent.some((f) => f && f.a === 'saveNotes' && f.r === error.ref), 'not sent')

      // Still the same live connection: the next action is answered on it, the draft stays.
      await increment(page, 1)
      assert.equal(page.lvt.sockets.length, sockets, 'no reconnect')
      assert.equal(socket.closed, false)
      assert.doesNotMatch(await rootClass(page), /\blvt-error\b/, 'a good reply clears the error')
      assert.equal(await notes(page), big)
      assert.doesNotMatch(logSince(env.server, log), /frame limit/, 'the server never saw it')

      // Nothing was saved: a reload shows the notes saved before.
      await page.reload()
      assert.equal(await notes(page), 'saved')
    },
    env.opts,
  )

  e2e(
    'a message over the limit that reaches the server closes with 1009: reported as an error, then reconnected',
    async (x) => {
      const page = await openWithSavedNotes(x, await x.context(env.browser), url)
      await record(page, 'error')
      const sockets = page.lvt.sockets.length
      const log = env.server.log.length
      // A client that does not know the limit (e.g. a page whose root lacks data-lvt-max-frame).
      await page.evaluate(() => (window.LiveTemplate.client.max = Infinity))
      await page.fill('textarea[name=notes]', 'y'.repeat(70_000))
      await page.click('button[name=saveNotes]')
      const [error] = await recorded(page, 'error')
      assert.deepEqual(error, {
        code: 1009,
        reason: 'frame too large',
        message: 'connection closed by the server: frame too large (1009)',
      })
      await waitLive(page)
      assert.equal(page.lvt.sockets.length, sockets + 1, 'reconnected once')
      await until(() => /over the frame limit/.test(logSince(env.server, log)), 'the server to log the 1009 close')
      await page.reload()
      assert.equal(await notes(page), 'saved')
    },
    env.opts,
  )

  e2e(
    'with the server stopped, Save Notes stays on the page and keeps the text; it saves once the server is back',
    async (x) => {
      const page = await openWithSavedNotes(x, await x.context(env.browser), url)
      await record(page, 'dropped')
      const at = page.url()
      const navs = page.lvt.navs
      const draft = 'written while the server is down'
      await page.fill('textarea[name=notes]', draft)
      try {
        await env.server.stop()
        await waitRootClass(page, 'lvt-disconnected')
        await page.click('button[name=saveNotes]')
        assert.deepEqual(await recorded(page, 'dropped'), [{ action: 'saveNotes', el: 'FORM' }])
        assert.equal(page.url(), at, 'no navigation to an error page')
        assert.equal(page.lvt.navs, navs)
        assert.equal(await notes(page), draft)
        assert.match(await rootClass(page), /\blvt-disconnected\b/)
      } finally {
        if (!env.server.proc) await env.server.start()
      }
      await waitLive(page)
      assert.equal(await notes(page), draft, 'the draft survives the reconnect (lvt-form:preserve)')
      await page.click('button[name=saveNotes]')
      await waitReply(page, 'saveNotes')
      await page.reload()
      assert.equal(await notes(page), draft)
      assert.equal(page.url(), at)
    },
    env.opts,
  )
})
