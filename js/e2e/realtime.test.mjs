// Real-time pages: /server-push (a server task pushes ticks to every tab of the browser, one
// run per browser, and ends when the tabs close),
// /broadcasting (publish/subscribe between tabs and browsers) and /presence (tracked
// connections join and leave the list by themselves).

import assert from 'node:assert/strict'
import { e2e, suite, until, waitLive, waitReply, waitText } from './helpers.mjs'

/** The process-wide count of timer tasks, from a fresh GET of /server-push in `context`. */
async function timerTasks(context, url) {
  const res = await context.request.get(url)
  assert.equal(res.status(), 200)
  const m = /id="tasks">Timer tasks running on the server: (\d+)</.exec(await res.text())
  assert.ok(m, 'the page shows the timer task count')
  return Number(m[1])
}

/**
 * Init script for a context: every document of it records, in `window.__timer`, each change
 * of the timer it shows (`{ v, running }`: the running count, or "Last completed") and of the
 * task count, from the first parsed HTML on.
 */
function recordTimer() {
  const seen = (window.__timer = { values: [], tasks: [] })
  const read = () => {
    // While the parser is still inserting a node its text may be missing: skip that moment.
    const running = document.querySelector('#elapsed')?.textContent.trim()
    const last = document.querySelector('#last strong')?.textContent.trim()
    const now = running ? { v: Number(running), running: true } : last ? { v: Number.parseInt(last, 10), running: false } : null
    const prev = seen.values.at(-1)
    if (now && !Number.isNaN(now.v) && !(prev && prev.v === now.v && prev.running === now.running)) seen.values.push(now)
    const tasks = /: (\d+)$/.exec(document.querySelector('#tasks')?.textContent.trim() || '')
    if (tasks && seen.tasks.at(-1) !== Number(tasks[1])) seen.tasks.push(Number(tasks[1]))
  }
  new MutationObserver(read).observe(document, { subtree: true, childList: true, characterData: true })
}

const timerLog = (page) => page.evaluate(() => window.__timer)

/** A run as tabs show it: counts that never go back, then "Last completed: 10s" once, last. */
function assertOneRun(values, what) {
  const shown = JSON.stringify(values)
  for (let i = 1; i < values.length; i++)
    assert.ok(values[i].v >= values[i - 1].v, `${what}: the count went back from ${values[i - 1].v} to ${values[i].v}: ${shown}`)
  const done = values.filter((s) => !s.running)
  assert.deepEqual(done, [{ v: 10, running: false }], `${what}: "Last completed" shown once, as 10s: ${shown}`)
  assert.deepEqual(values.at(-1), { v: 10, running: false }, `${what}: it ends with "Last completed: 10s": ${shown}`)
}

/** Runs `startTimer` on the page's connection, as a Start button from before the run would. */
async function pushStart(page) {
  await page.evaluate(() => window.LiveTemplate.push('startTimer'))
  await waitReply(page, 'startTimer')
}

/** Texts of the rows under `selector` that carry a data-key. */
const rows = (page, selector) =>
  page.$$eval(`${selector} [data-key]`, (els) => els.map((e) => e.textContent.replace(/\s+/g, ' ').trim()))

/** Waits until some row under `selector` contains `text` (or, with `present = false`, none does). */
async function waitRow(page, selector, text, present = true, timeout = 15_000) {
  try {
    await page.waitForFunction(
      ([sel, t, want]) =>
        [...document.querySelectorAll(`${sel} [data-key]`)].some((e) => e.textContent.includes(t)) === want,
      [selector, text, present],
      { timeout, polling: 20 },
    )
  } catch (e) {
    const now = await rows(page, selector).catch(() => '?')
    const what = `${selector} ${present ? 'never showed' : 'still shows'} "${text}" after ${timeout} ms`
    throw new Error(`${what}: ${JSON.stringify(now)}`, { cause: e })
  }
}

async function join(page, field, name) {
  await page.fill(`input[name=${field}]`, name)
  await page.click('button[name=join]')
  await waitReply(page, 'join')
}

async function send(page, text) {
  await page.fill('input[name=text]', text)
  await page.click('button[name=send]')
  await waitReply(page, 'send')
}

suite('realtime', (env) => {

  e2e(
    'server push: ten ticks about a second apart, then "Last completed: 10s"',
    async (x) => {
      const page = await x.page(await x.context(env.browser))
      await page.goto(`${env.server.url}/server-push`)
      await waitLive(page)
      // Record, in the page, when each pushed value first shows up.
      await page.evaluate(() => {
        const seen = (window.__ticks = [])
        const read = () => {
          const running = document.querySelector('#elapsed')
          const last = document.querySelector('#last strong')
          const v = running ? Number(running.textContent) : last ? Number.parseInt(last.textContent, 10) : 0
          if (v > 0 && !seen.some((s) => s.v === v)) seen.push({ v, t: performance.now() })
        }
        document.addEventListener('click', () => (window.__clicked = performance.now()), true)
        new MutationObserver(read).observe(document.body, { subtree: true, childList: true, characterData: true })
      })
      await page.click('button[name=startTimer]')
      await waitReply(page, 'startTimer')
      await waitText(page, '#elapsed', '0')
      await waitText(page, '#last', 'Last completed: 10s', 15_000)
      assert.equal(await page.$('button[name=startTimer]') !== null, true, 'the Start button is back')
      const { ticks, clicked } = await page.evaluate(() => ({ ticks: window.__ticks, clicked: window.__clicked }))
      assert.deepEqual(
        ticks.map((s) => s.v),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        'every tick was shown once, in order',
      )
      let prev = clicked
      for (const { v, t } of ticks) {
        const gap = t - prev
        assert.ok(gap >= 500 && gap <= 2000, `tick ${v} came ${Math.round(gap)} ms after the previous one`)
        prev = t
      }
      const total = ticks.at(-1).t - clicked
      assert.ok(total >= 9000 && total <= 12_000, `ten ticks took ${Math.round(total)} ms`)
      // No client-side polling: every tick arrived as a server frame with no request behind it.
      const sent = page.lvt.sockets.flatMap((s) => s.sent).filter((f) => f && f.a)
      assert.deepEqual(
        sent.map((f) => f.a),
        ['startTimer'],
        'the only action the client sent',
      )
      await until(async () => (await timerTasks(page.context(), `${env.server.url}/server-push`)) === 0, 'the task to end')
    },
    { ...env.opts, timeout: 60_000 },
  )

  e2e(
    'server push: closing the tab mid-run ends the server task within two ticks',
    async (x) => {
      const url = `${env.server.url}/server-push`
      const watcher = await x.context(env.browser)
      const before = await timerTasks(watcher, url)
      const page = await x.page(await x.context(env.browser))
      await page.goto(url)
      await waitLive(page)
      await page.click('button[name=startTimer]')
      await waitText(page, '#elapsed', '2')
      assert.equal(await timerTasks(watcher, url), before + 1, 'the running task is counted')
      await page.close()
      const closed = Date.now()
      await until(async () => (await timerTasks(watcher, url)) === before, 'the timer task count to drop', 5000)
      const took = Date.now() - closed
      assert.ok(took <= 2500, `the task ended ${took} ms after the tab closed`)
      // And it stays gone: the task did not keep running unseen.
      assert.equal(await timerTasks(watcher, url), before)
    },
    env.opts,
  )

  e2e(
    'server push: a reload mid-run shows the run, Start starts no second task, the count never goes back',
    async (x) => {
      const url = `${env.server.url}/server-push`
      const before = await timerTasks(await x.context(env.browser), url)
      const context = await x.context(env.browser)
      await context.addInitScript(recordTimer)
      const page = await x.page(context)
      await page.goto(url)
      await waitLive(page)
      await page.click('button[name=startTimer]')
      await waitText(page, '#elapsed', '2')
      const beforeReload = await timerLog(page)

      await page.reload()
      // The server's HTML already shows the run, at the count it had reached.
      const first = (await timerLog(page)).values[0]
      assert.ok(first?.running && first.v >= 2, `the first render after the reload shows ${JSON.stringify(first)}`)
      await waitLive(page)
      // Start from a view older than the run (a second click, a stale tab): no second task.
      await pushStart(page)
      assert.ok(await page.$('#elapsed'), 'still the running view')
      assert.equal(await timerTasks(context, url), before + 1, 'one timer task')

      await waitText(page, '#last', 'Last completed: 10s', 15_000)
      const afterReload = await timerLog(page)
      assertOneRun([...beforeReload.values, ...afterReload.values], 'the reloaded page')
      const tasks = [...beforeReload.tasks, ...afterReload.tasks]
      assert.ok(Math.max(...tasks) === before + 1, `task counts the page showed: ${tasks}`)
      await until(async () => (await timerTasks(context, url)) === before, 'the task to end')
      assert.equal(await page.textContent('#last'), 'Last completed: 10s', 'nothing ran after the end')
    },
    { ...env.opts, timeout: 40_000 },
  )

  e2e(
    'server push: tabs of one browser share one run; a tab opened mid-run shows the same seconds',
    async (x) => {
      const url = `${env.server.url}/server-push`
      const before = await timerTasks(await x.context(env.browser), url)
      const context = await x.context(env.browser)
      await context.addInitScript(recordTimer)
      const [a, b] = [await x.page(context), await x.page(context)]
      for (const p of [a, b]) {
        await p.goto(url)
        await waitLive(p)
      }
      // Both tabs click Start at the same moment: one timer, and both show it.
      await Promise.all([pushStart(a), pushStart(b)])
      for (const p of [a, b]) await waitText(p, '#elapsed', '1')
      assert.equal(await timerTasks(context, url), before + 1, 'one timer task for two Starts')

      await waitText(a, '#elapsed', '2')
      const c = await x.page(context)
      await c.goto(url)
      const first = (await timerLog(c)).values[0]
      assert.ok(first?.running && first.v >= 2, `the tab opened mid-run first shows ${JSON.stringify(first)}`)
      await waitLive(c)
      await pushStart(c)
      assert.equal(await timerTasks(context, url), before + 1, 'still one timer task')

      for (const p of [a, b, c]) await waitText(p, '#last', 'Last completed: 10s', 15_000)
      const [la, lb, lc] = [await timerLog(a), await timerLog(b), await timerLog(c)]
      for (const [name, log] of [['tab a', la], ['tab b', lb], ['tab c', lc]]) {
        assertOneRun(log.values, name)
        assert.ok(Math.max(...log.tasks) === before + 1, `${name} showed task counts ${log.tasks}`)
      }
      // Every tab showed the same seconds: the late tab, each count from the one it opened at.
      assert.deepEqual(lb.values, la.values, 'tabs a and b')
      assert.deepEqual(lc.values, la.values.filter((s) => !s.running || s.v >= lc.values[0].v), 'tab c and tab a')
      await until(async () => (await timerTasks(context, url)) === before, 'the task to end')
    },
    { ...env.opts, timeout: 40_000 },
  )

  e2e(
    'broadcasting: Join without JavaScript answers 422 and says it needs JavaScript',
    async (x) => {
      const page = await x.page(await x.context(env.browser, { javaScriptEnabled: false }))
      await page.goto(`${env.server.url}/broadcasting`)
      await page.fill('input[name=username]', 'nojs')
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST'),
        page.click('button[name=join]'),
      ])
      assert.equal(res.status(), 422)
      await page.waitForLoadState('load')
      const alert = (await page.textContent('[role=alert]')).trim()
      assert.match(alert, /joining the chat needs JavaScript/)
      assert.ok(await page.$('button[name=join]'), 'the Join form is still there to try again')
      assert.equal(await page.$('#username'), null, 'not joined')
    },
    env.opts,
  )

  e2e(
    'broadcasting: two tabs of one browser join as ann and bob and see each other\'s messages',
    async (x) => {
      const context = await x.context(env.browser)
      const ann = await x.page(context)
      const bob = await x.page(context)
      for (const p of [ann, bob]) {
        await p.goto(`${env.server.url}/broadcasting`)
        await waitLive(p)
      }
      await join(ann, 'username', 'ann')
      await join(bob, 'username', 'bob')
      await waitText(ann, '#username', 'ann')
      await waitText(bob, '#username', 'bob')

      await send(ann, '  hello from ann  ')
      for (const p of [ann, bob]) await waitRow(p, '.messages', 'ann: hello from ann')
      await send(bob, 'hi ann')
      for (const p of [ann, bob]) await waitRow(p, '.messages', 'bob: hi ann')
      // Empty after trimming: ignored.
      await send(bob, '   ')

      const want = ['ann: hello from ann', 'bob: hi ann']
      for (const p of [ann, bob]) {
        const got = (await rows(p, '.messages')).slice(-2)
        assert.deepEqual(got, want, 'both messages, once each, in order')
      }
      for (const p of [ann, bob]) assert.equal(p.lvt.navs, 1, 'no reload')
      const keys = await ann.$$eval('.messages [data-key]', (els) => els.map((e) => e.dataset.key))
      assert.equal(new Set(keys).size, keys.length, 'message keys are unique')
    },
    env.opts,
  )

  e2e(
    'broadcasting: two separate browsers chat (the app-wide topic)',
    async (x) => {
      const cat = await x.page(await x.context(env.browser))
      const dan = await x.page(await x.context(env.browser))
      for (const p of [cat, dan]) {
        await p.goto(`${env.server.url}/broadcasting`)
        await waitLive(p)
      }
      await join(cat, 'username', 'cat')
      await join(dan, 'username', 'dan')
      await send(cat, 'meow to another browser')
      await waitRow(dan, '.messages', 'cat: meow to another browser')
      await send(dan, 'hello back')
      await waitRow(cat, '.messages', 'dan: hello back')
      await waitRow(dan, '.messages', 'dan: hello back')
      // A newcomer reads the log on its first render.
      const late = await x.page(await x.context(env.browser))
      await late.goto(`${env.server.url}/broadcasting`)
      await waitLive(late)
      await join(late, 'username', 'late')
      await waitRow(late, '.messages', 'dan: hello back')
    },
    env.opts,
  )

  e2e(
    'presence: another browser joins the list and leaves it when closed',
    async (x) => {
      const url = `${env.server.url}/presence`
      const eve = await x.page(await x.context(env.browser))
      await eve.goto(url)
      await waitLive(eve)
      await join(eve, 'name', 'eve')
      await waitRow(eve, '#members', 'eve')
      await waitText(eve, '#online', '1')

      // Someone who has not joined sees the list, already in the server's HTML.
      const otherContext = await x.context(env.browser)
      const html = await (await otherContext.request.get(url)).text()
      assert.match(html, /Online now \(<strong id="online">1<\/strong>\)/)
      assert.ok(html.includes('eve'), 'the GET body lists eve')
      const fay = await x.page(otherContext)
      await fay.goto(url)
      await waitLive(fay)
      await waitRow(fay, '#members', 'eve')

      await join(fay, 'name', 'fay')
      await waitRow(eve, '#members', 'fay', true, 5000)
      await waitText(eve, '#online', '2')
      await waitRow(fay, '#members', 'fay')
      assert.deepEqual(
        (await rows(eve, '#members')).map((r) => r.split(' ')[0]),
        ['eve', 'fay'],
        'oldest first',
      )

      await otherContext.close()
      await waitRow(eve, '#members', 'fay', false, 5000)
      await waitText(eve, '#online', '1')
      assert.equal(eve.lvt.navs, 1, 'no reload')
    },
    env.opts,
  )
})
