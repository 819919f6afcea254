// Issue 14 (forms): /forms shows only the touched fields' errors while typing, all of them on
// submit; an error of one form never shows next to another; without JavaScript a failed
// sign-up answers 422 with the typed values and the errors in place; after a socket drop
// only the form the server no longer renders as the user left it is sent again.

import assert from 'node:assert/strict'
import { e2e, suite, until, waitLive, waitReply, waitText } from './helpers.mjs'

/** Text of the visible `lvt-error-message` element matching `sel`, '' when hidden. */
const shown = (page, sel) =>
  page.evaluate((s) => {
    const el = document.querySelector(s)
    return !el || el.hidden ? '' : el.textContent
  }, sel)

const fieldErrors = (page) => page.$$eval('.field-error', (els) => els.map((e) => e.id).sort())

suite('forms', (env) => {
  e2e(
    'only the fields the user touched show their errors while typing; a submit shows them all',
    async (x) => {
      const page = await x.page(await x.context(env.browser))
      await page.goto(`${env.server.url}/forms`)
      await waitLive(page)
      assert.deepEqual(await fieldErrors(page), [], 'no error before typing')
      assert.equal(await page.getAttribute('#signup [lvt-error-message]', 'hidden'), '', 'empty error element hidden')
      await page.type('input[name=email]', 'ada')
      await waitReply(page, 'validate')
      await waitText(page, '#email-error', 'must contain @')
      assert.deepEqual(await fieldErrors(page), ['email-error'], 'only the touched field')
      const sent = page.lvt.sockets.at(-1).sent.filter((f) => f && f.a === 'validate').at(-1)
      assert.deepEqual(Object.keys(sent.d).sort(), ['_unused_name', '_unused_password', 'email', 'name', 'password'])
      // The signup form's own summary, not the page's.
      assert.equal(await shown(page, '#signup [lvt-error-message]'), 'email: must contain @')
      assert.equal(await shown(page, 'main > [lvt-error-message]'), '')
      await page.type('input[name=email]', '@example.com')
      await until(async () => (await fieldErrors(page)).length === 0, 'the email error to clear')
      await page.click('button[name=signup]')
      await waitText(page, '#name-error', 'is required')
      await waitText(page, '#password-error', 'must be at least 8 characters')
      assert.deepEqual(await fieldErrors(page), ['name-error', 'password-error'])
      assert.equal(await page.inputValue('input[name=email]'), 'ada@example.com', 'typed value kept')
      await page.fill('input[name=name]', 'Ada')
      await page.fill('input[name=password]', 'correct horse')
      await page.click('button[name=signup]')
      await waitText(page, '#welcome', 'Welcome, Ada!')
      assert.equal(await page.$('#signup'), null, 'the welcome replaces the form')
      assert.equal(page.lvt.navs, 1, 'no page load')
    },
    env.opts,
  )

  e2e(
    'an error of one form never shows next to another',
    async (x) => {
      const page = await x.page(await x.context(env.browser))
      await page.goto(`${env.server.url}/forms`)
      await waitLive(page)
      await page.fill('input[name=code]', 'nope')
      await page.click('button[name=redeem]')
      await waitText(page, '#coupon [lvt-error-message]', 'unknown coupon code `nope`')
      assert.equal(await shown(page, '#signup [lvt-error-message]'), '', 'not next to the signup form')
      assert.equal(await shown(page, 'main > [lvt-error-message]'), '', 'not page-wide')
      // The signup form's failure stays with it; the coupon's error stays with the coupon.
      await page.click('button[name=signup]')
      await waitText(page, '#name-error', 'is required')
      assert.match(await shown(page, '#signup [lvt-error-message]'), /^name: is required/)
      assert.equal(await shown(page, '#coupon [lvt-error-message]'), 'unknown coupon code `nope`')
      // The coupon's success clears its own error only.
      await page.fill('input[name=code]', 'LIVE10')
      await page.click('button[name=redeem]')
      await waitText(page, '#coupon-ok', '10% off your first month')
      assert.equal(await shown(page, '#coupon [lvt-error-message]'), '')
      assert.match(await shown(page, '#signup [lvt-error-message]'), /^name: is required/)
    },
    env.opts,
  )

  e2e(
    'with JavaScript off a failed sign-up answers 422 with the typed values and the errors in place',
    async (x) => {
      const page = await x.page(await x.context(env.browser, { javaScriptEnabled: false }))
      const statuses = []
      page.on('response', (r) => {
        if (r.request().method() === 'POST') statuses.push(r.status())
      })
      await page.goto(`${env.server.url}/forms`)
      await page.fill('input[name=name]', 'Ada Lovelace')
      await page.fill('input[name=email]', 'ada')
      await page.fill('input[name=password]', 'short')
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[name=signup]')])
      assert.deepEqual(statuses, [422])
      assert.equal(await page.inputValue('input[name=name]'), 'Ada Lovelace')
      assert.equal(await page.inputValue('input[name=email]'), 'ada')
      assert.equal((await page.textContent('#email-error')).trim(), 'must contain @')
      assert.equal((await page.textContent('#password-error')).trim(), 'must be at least 8 characters')
      assert.equal(await page.$('#name-error'), null)
      assert.equal(await page.$('[data-lvt-post-error]'), null, 'no banner: the errors are in the page')
      // Fixed and sent again: 303 to the welcome.
      await page.fill('input[name=email]', 'ada@example.com')
      await page.fill('input[name=password]', 'correct horse')
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[name=signup]')])
      assert.deepEqual(statuses, [422, 303])
      assert.equal((await page.textContent('#welcome')).trim(), 'Welcome, Ada Lovelace!')
    },
    env.opts,
  )

  e2e(
    'after a socket drop only the form the new render does not show as the user left it is sent again',
    async (x) => {
      const page = await x.page(await x.context(env.browser))
      await page.goto(`${env.server.url}/forms`)
      await waitLive(page)
      await page.type('input[name=name]', 'Ada')
      await waitReply(page, 'validate')
      await page.type('input[name=code]', 'LIV')
      await waitReply(page, 'type_code')
      const before = page.lvt.sockets.length
      await page.evaluate(() => window.LiveTemplate.disconnect())
      await until(() => page.lvt.sockets.length > before, 'a new WebSocket')
      await waitLive(page)
      const fresh = page.lvt.sockets.at(-1)
      await until(() => fresh.received.some((f) => f && f.r), 'the reply to the replay')
      await page.waitForFunction(() => !document.querySelector('#signup').classList.contains('lvt-change-loading'))
      const replayed = fresh.sent.filter((f) => f && f.a).map((f) => f.a)
      // The server forgot the signup form's values (not persisted): sent again. The coupon
      // code is persisted: the new render shows it, so that form is not.
      assert.deepEqual(replayed, ['validate'])
      const replay = fresh.sent.find((f) => f && f.a === 'validate').d
      assert.equal(replay.name, 'Ada')
      assert.equal(replay._unused_email, '', 'the replay marks the untouched fields unused')
      assert.deepEqual(await fieldErrors(page), [], 'so no error shows for them after the reconnect')
      assert.equal(await page.inputValue('input[name=name]'), 'Ada')
      assert.equal(await page.inputValue('input[name=code]'), 'LIV')
      assert.equal(page.lvt.navs, 1)
    },
    env.opts,
  )
})
