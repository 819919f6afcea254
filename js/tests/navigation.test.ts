// Live navigation between pages on one socket (`lvt-navigate`, back/forward across pages),
// titles and flash messages (docs/protocol.md: `n`, `navigate`, `title`, `flash`).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Client } from '../src/client'
import { FakeWS } from './fake'

let root: HTMLElement
let client: Client
let ws: FakeWS
let sid = 0

const $ = <T extends Element = HTMLElement>(sel: string) => document.querySelector(sel) as unknown as T

/** A frame whose full tree is `html` (one fresh statics id). */
const page = (html: string, extra: object = {}) => {
  const id = 'n' + sid++
  return { s: { [id]: [html] }, t: { s: id }, ...extra }
}

/** A layout (nav bar, input, flash) around the live root holding `html`. */
function start(html: string, path = '/a') {
  window.history.replaceState(null, '', path)
  document.body.innerHTML =
    '<nav><a id="to-b" lvt-navigate href="/b?x=1">B</a><a id="to-a" lvt-navigate href="/a">A</a><a id="to-c" lvt-navigate href="/c">C</a>' +
    '<a id="ext" lvt-navigate href="https://elsewhere.example/b">ext</a><input id="q"></nav>' +
    '<p id="info" lvt-flash="info" hidden></p>' +
    `<div data-lvt-root id="root">${html}</div>`
  root = document.getElementById('root')!
  FakeWS.all = []
  client = new Client(root, { WebSocket: FakeWS, url: () => 'ws://test' + path, random: () => 0.5 })
  client.connect()
  ws = FakeWS.last
  ws.accept().recv({ v: 2, ...page(html) })
}

const sent = () => ws.sent.filter((f) => !f.h)
const click = (el: Element, init: MouseEventInit = {}) =>
  el.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true, button: 0, ...init }))

beforeEach(() => vi.useFakeTimers())
afterEach(() => {
  client.sock.stop()
  vi.useRealTimers()
  vi.restoreAllMocks()
})

describe('lvt-navigate', () => {
  it('sends n for a link in the layout, swaps the root on the reply and keeps the layout', () => {
    start('<p id="pa">page A</p>')
    const input = $<HTMLInputElement>('#q')
    input.value = 'typed'
    input.focus()
    const scroll = vi.spyOn(window, 'scrollTo').mockImplementation(() => {})
    expect(click($('#to-b'))).toBe(false)
    expect(sent()).toEqual([{ n: '/b?x=1', r: 1 }])
    // The new page: statics start over (its ids may reuse the old page's).
    ws.recv({ v: 2, r: 1, s: { '0': ['<p id="pb">page B</p>'] }, t: { s: 0 }, navigate: '/b?x=1', title: 'B page', flash: {} })
    expect(root.innerHTML).toBe('<p id="pb">page B</p>')
    expect(window.location.pathname + window.location.search).toBe('/b?x=1')
    expect(document.title).toBe('B page')
    expect(scroll).toHaveBeenCalledWith(0, 0)
    expect(document.activeElement).toBe(input)
    expect(input.value).toBe('typed')
    expect(FakeWS.all.length).toBe(1)
  })

  it('leaves modified clicks, other origins and a closed socket to the browser', () => {
    start('<p>A</p>')
    const assign = vi.spyOn(window.location, 'assign').mockImplementation(() => {})
    expect(click($('#to-b'), { metaKey: true })).toBe(true)
    click($('#ext'))
    expect(assign).toHaveBeenCalledWith('https://elsewhere.example/b')
    ws.fail()
    expect(click($('#to-b'))).toBe(true)
    expect(sent()).toEqual([])
  })

  it('back and forward to another page send n without a new history entry; same page sends p', () => {
    start('<p>A</p>')
    const push = vi.spyOn(window.history, 'pushState')
    click($('#to-b'))
    ws.recv({ v: 2, r: 1, ...page('<p>B</p>'), navigate: '/b?x=1', flash: {} })
    expect(push).toHaveBeenCalledTimes(1)
    window.history.replaceState(null, '', '/a')
    window.dispatchEvent(new PopStateEvent('popstate'))
    expect(sent()[1]).toEqual({ n: '/a', r: 2 })
    ws.recv({ v: 2, r: 2, ...page('<p>A again</p>'), navigate: '/a', flash: {} })
    expect(push).toHaveBeenCalledTimes(1)
    expect(root.textContent).toBe('A again')
    window.history.replaceState(null, '', '/a?page=2')
    window.dispatchEvent(new PopStateEvent('popstate'))
    expect(sent()[2]).toEqual({ p: '/a?page=2', r: 3 })
  })

  it('applies navigations that crossed in flight in order: the last one wins', () => {
    start('<p>A</p>')
    click($('#to-b'))
    // Back to the page still shown, before the reply: a navigation too.
    click($('#to-a'))
    click($('#to-c'))
    expect(sent()).toEqual([
      { n: '/b?x=1', r: 1 },
      { n: '/a', r: 2 },
      { n: '/c', r: 3 },
    ])
    // The reply to the first arrives when the user has already asked for the second.
    ws.recv({ v: 2, r: 1, ...page('<p>B</p>'), navigate: '/b?x=1', flash: {} })
    ws.recv({ v: 2, r: 2, ...page('<p>A</p>'), navigate: '/a', flash: {} })
    ws.recv({ v: 2, r: 3, s: { '0': ['<p>C ', '</p>'] }, t: { s: 0, '0': '1' }, navigate: '/c', title: 'C', flash: {} })
    expect(root.textContent).toBe('C 1')
    expect(window.location.pathname).toBe('/c')
    expect(document.title).toBe('C')
    // A diff for the new page applies to its tree (statics id 0 is C's now).
    ws.recv({ d: { '0': '2' } })
    expect(root.textContent).toBe('C 2')
  })

  it('scrolls to the hash of the new URL, and follows a redirect answer', () => {
    start('<p>A</p>')
    const assign = vi.spyOn(window.location, 'assign').mockImplementation(() => {})
    ws.recv({ v: 2, r: 7, ...page('<p>B</p><h2 id="part">part</h2>'), navigate: '/b#part', flash: {} })
    const into = vi.fn()
    ;($('#part') as HTMLElement).scrollIntoView = into
    ws.recv({ v: 2, r: 8, ...page('<p>B</p><h2 id="part">part</h2>'), navigate: '/b#part', flash: {} })
    expect(into).toHaveBeenCalled()
    ws.recv({ r: 9, redirect: '/other-layout' })
    expect(assign).toHaveBeenCalledWith('/other-layout')
  })
})

describe('flash', () => {
  it('fills lvt-flash elements from frames, after every render, and dismisses on click', () => {
    start('<p id="own" lvt-flash="error"></p><b id="n">0</b>')
    ws.recv({ r: 1, d: {}, flash: { info: 'Saved', error: 'Careful' } })
    expect($('#info').textContent).toBe('Saved')
    expect($('#info').hidden).toBe(false)
    expect($('#own').textContent).toBe('Careful')
    // A render that morphs the region (its tree holds no message) keeps the flash shown.
    ws.recv({ ...page('<p id="own" lvt-flash="error"></p><b id="n">1</b>') })
    expect($('#own').textContent).toBe('Careful')
    click($('#info'))
    expect($('#info').hidden).toBe(true)
    expect(sent()).toEqual([{ a: 'lvt:clear_flash', d: { kind: 'info' }, r: 1 }])
    ws.recv({ r: 1, flash: { error: 'Careful' } })
    expect($('#own').hidden).toBe(false)
    ws.recv({ v: 2, r: 2, ...page('<p>B</p>'), navigate: '/b', flash: {} })
    expect($('#info').hidden).toBe(true)
  })
})
