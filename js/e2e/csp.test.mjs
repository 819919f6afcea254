// Issue 9: every example page under a strict Content-Security-Policy
// (`default-src 'self'; script-src 'self'`): no violation reported, the page goes live, and
// clicks work. The server sends the policy itself (example-patterns `--csp`, here through
// LVT_CSP), as an app would.

import assert from 'node:assert/strict'
import { e2e, suite, waitLive, waitText } from './helpers.mjs'

const POLICY = "default-src 'self'; script-src 'self'"
process.env.LVT_CSP = POLICY

/** Records CSP violations in the page (`window.__csp`) from before its first script runs. */
async function recordViolations(context) {
  await context.addInitScript(() => {
    window.__csp = []
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile || ''}:${e.lineNumber}`)
    })
  })
}

/** Violations seen by the page's listener plus console errors that name the policy. */
async function violations(page) {
  const seen = await page.evaluate(() => window.__csp || ['(the recorder did not run)'])
  const console = page.lvt.errors.filter((e) => /Content Security Policy/i.test(e))
  return [...seen, ...console]
}

suite('strict CSP', (env) => {
  e2e(
    'every example page loads and goes live with no CSP violation',
    async (x) => {
      const context = await x.context(env.browser)
      await recordViolations(context)
      const index = await x.page(context)
      const resp = await index.goto(`${env.server.url}/`)
      assert.equal(resp.headers()['content-security-policy'], POLICY, 'the server sends the policy')
      await waitLive(index)
      const paths = await index.$$eval('main a[href^="/"]', (as) => as.map((a) => a.getAttribute('href')))
      assert.ok(paths.length >= 7, `the index lists the pattern pages: ${paths}`)
      for (const path of ['/', ...paths]) {
        const page = path === '/' ? index : await x.page(context)
        if (path !== '/') {
          const r = await page.goto(`${env.server.url}${path}`)
          assert.equal(r.status(), 200, path)
          assert.equal(r.headers()['content-security-policy'], POLICY, path)
        }
        await waitLive(page)
        // The stylesheet loaded (styles are no longer inline): the body has no margin.
        const margin = await page.evaluate(() => getComputedStyle(document.body).marginTop)
        assert.equal(margin, '0px', `${path}: the app stylesheet applies`)
        assert.deepEqual(await violations(page), [], `${path}: CSP violations`)
        if (page !== index) await page.close()
      }
    },
    env.opts,
  )

  e2e(
    'clicks work under the policy, and the recorder does see a violation',
    async (x) => {
      const context = await x.context(env.browser)
      await recordViolations(context)
      const page = await x.page(context)
      await page.goto(`${env.server.url}/counter`)
      await waitLive(page)
      await waitText(page, '#count', '0')
      await page.click('button[name=increment]')
      await waitText(page, '#count', '1')
      await page.goto(`${env.server.url}/thermostat`)
      await waitLive(page)
      await waitText(page, '#temp', '19.5')
      await page.click('button[name=tempUp]')
      await waitText(page, '#temp', '19.6')
      assert.deepEqual(await violations(page), [], 'no violation after the clicks')
      // Control: an inline style attribute is what the policy forbids, and the recorder
      // reports it (so an empty list above means something).
      await page.evaluate(() => document.body.setAttribute('style', 'color: red'))
      const seen = await page.waitForFunction(() => window.__csp.length > 0, null, { timeout: 5000 }).then(
        () => page.evaluate(() => window.__csp),
      )
      assert.match(seen.join('\n'), /style-src/)
    },
    env.opts,
  )
})
