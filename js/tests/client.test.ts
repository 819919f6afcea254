import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Client } from '../src/client'
import type { HookDef } from '../src/hooks'
import { FakeWS } from './fake'

let root: HTMLElement
let client: Client
let ws: FakeWS
let hooks: Record<string, HookDef> = {}
let sid = 0

const $ = <T extends Element = HTMLElement>(sel: string) => root.querySelector(sel) as unknown as T

/** A frame whose full tree is `html` (one fresh statics id, so it is valid on any connection). */
const page = (html: string, extra: object = {}) => {
  const id = 'p' + sid++
  return { s: { [id]: [html] }, t: { s: id }, ...extra }
}

function start(html: string, opts: { open?: boolean; attrs?: string } = {}) {
  document.body.innerHTML = `<div data-lvt-root id="root" ${opts.attrs || ''}>${html}</div>`
  root = document.getElementById('root')!
  FakeWS.all = []
  client = new Client(root, { WebSocket: FakeWS, url: () => 'ws://test/page', random: () => 0.5, hooks: () => hooks })
  client.connect()
  ws = FakeWS.last
  if (opts.open !== false) ws.accept().recv({ v: 1, ...page(html) })
}

/** Simulates a network drop, lets the backoff pass, and accepts the new connection. */
function reconnect() {
  ws.fail()
  vi.runOnlyPendingTimers()
  ws = FakeWS.last
  ws.accept()
}

const sent = () => ws.sent.filter((f) => !f.h)
const type = (el: HTMLInputElement | HTMLTextAreaElement, v: string) => {
  el.value = v
  el.dispatchEvent(new Event('input', { bubbles: true }))
}
const key = (el: EventTarget, k: string, t = 'keydown') =>
  el.dispatchEvent(new KeyboardEvent(t, { key: k, bubbles: true }))

// Records whether the client prevented a submit, then stops happy-dom from navigating.
let prevented: boolean[] = []
const onSubmit = (e: Event) => {
  prevented.push(e.defaultPrevented)
  e.preventDefault()
}

beforeEach(() => {
  vi.useFakeTimers()
  hooks = {}
  prevented = []
  document.addEventListener('submit', onSubmit)
})
afterEach(() => {
  client.sock.stop()
  document.removeEventListener('submit', onSubmit)
  vi.useRealTimers()
  vi.restoreAllMocks()
})

describe('connection', () => {
  it('connects to the page URL by default', () => {
    document.body.innerHTML = '<div data-lvt-root></div>'
    root = document.querySelector('[data-lvt-root]')!
    client = new Client(root, { WebSocket: FakeWS })
    client.connect()
    expect(FakeWS.last.url).toBe('ws://' + location.host + location.pathname + location.search)
  })

  it('sets lvt-connected / lvt-disconnected on the root', () => {
    start('<p>x</p>', { open: false })
    expect(root.className).toBe('')
    ws.fail()
    expect(root.classList.contains('lvt-disconnected')).toBe(true)
    vi.runOnlyPendingTimers()
    ws = FakeWS.last.accept()
    expect(root.classList.contains('lvt-connected')).toBe(true)
    expect(root.classList.contains('lvt-disconnected')).toBe(false)
    ws.fail()
    expect(root.classList.contains('lvt-connected')).toBe(false)
    expect(root.classList.contains('lvt-disconnected')).toBe(true)
  })

  it('renders full trees and diffs into the root', () => {
    start('', { open: false })
    ws.accept().recv({ v: 1, s: { '0': ['<p>Counter: <strong>', '</strong></p>'] }, t: { s: 0, '0': '0' } })
    expect(root.innerHTML).toBe('<p>Counter: <strong>0</strong></p>')
    const strong = $('strong')
    ws.recv({ d: { '0': '1' }, r: 1 })
    expect(root.innerHTML).toBe('<p>Counter: <strong>1</strong></p>')
    expect($('strong')).toBe(strong)
  })

  it('clears the statics table on every new connection', () => {
    start('', { open: false })
    ws.accept().recv({ s: { '0': ['<b>', '</b>'] }, t: { s: 0, '0': 'a' } })
    vi.spyOn(console, 'error').mockImplementation(() => {})
    reconnect()
    expect(client.tree.statics).toEqual({})
    // A frame that relies on statics of the previous connection is a broken stream: drop it.
    ws.recv({ t: { s: 0, '0': 'b' } })
    expect(ws.closed).toBe(true)
    expect(root.innerHTML).toBe('<b>a</b>')
  })

  it('follows redirect and patch frames', () => {
    start('<p>x</p>')
    const assign = vi.spyOn(window.location, 'assign').mockImplementation(() => {})
    const push = vi.spyOn(window.history, 'pushState').mockImplementation(() => {})
    ws.recv({ patch: '/items?page=2' })
    expect(push).toHaveBeenCalledWith(null, '', '/items?page=2')
    ws.recv({ redirect: '/login' })
    expect(assign).toHaveBeenCalledWith('/login')
  })

  it('back or forward to another URL of the page sends it to the server, on the same connection', () => {
    window.history.replaceState(null, '', '/items?page=1')
    start('<p>1</p>')
    ws.recv({ patch: '/items?page=2' })
    expect(window.location.search).toBe('?page=2')
    // A hash change or a popstate to the URL already shown sends nothing.
    window.dispatchEvent(new PopStateEvent('popstate'))
    expect(sent()).toEqual([])
    window.history.replaceState(null, '', '/items?page=1')
    window.dispatchEvent(new PopStateEvent('popstate'))
    expect(sent()).toEqual([{ p: '/items?page=1', r: 1 }])
    expect(ws.closed).toBe(false)
    ws.recv({ r: 1, d: { '0': '1 again' } })
  })

  it('follows lvt-patch links in the page when connected, loads other URLs', () => {
    window.history.replaceState(null, '', '/items')
    start('<a id="next" lvt-patch href="?page=2">next</a><a id="away" lvt-patch href="/elsewhere">x</a>')
    const assign = vi.spyOn(window.location, 'assign').mockImplementation(() => {})
    const click = (el: Element, init: MouseEventInit = {}) =>
      el.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true, button: 0, ...init }))
    expect(click($('#next'))).toBe(false) // default prevented
    expect(window.location.pathname + window.location.search).toBe('/items?page=2')
    expect(sent()).toEqual([{ p: '/items?page=2', r: 1 }])
    // Another path of the site: a page load.
    click($('#away'))
    expect(assign).toHaveBeenCalledWith(window.location.origin + '/elsewhere')
    // Ctrl-click (new tab) is left to the browser.
    expect(click($('#next'), { ctrlKey: true })).toBe(true)
    expect(sent().length).toBe(1)
    // A link to the URL already shown (a hash at most) sends nothing.
    root.insertAdjacentHTML('beforeend', '<a id="same" lvt-patch href="?page=2#top">top</a>')
    click($('#same'))
    expect(window.location.hash).toBe('#top')
    expect(sent().length).toBe(1)
  })

  it('lets lvt-patch links load natively while not connected', () => {
    start('<a id="next" lvt-patch href="?page=3">next</a>', { open: false })
    const ev = new MouseEvent('click', { bubbles: true, cancelable: true, button: 0 })
    expect($('#next').dispatchEvent(ev)).toBe(true)
  })
})

describe('forms', () => {
  it('intercepts a POST form and sends the clicked button as the action', () => {
    start('<form method="POST"><button name="increment">+</button></form>')
    $<HTMLButtonElement>('button').click()
    expect(sent()).toEqual([{ a: 'increment', r: 1 }])
    expect(prevented).toEqual([true])
  })

  it('sends the fields, repeated names as arrays, and the button value when it has one', () => {
    start(
      '<form method="post"><input name="title" value="Buy milk"><input type="checkbox" name="tag" value="a" checked>' +
        '<input type="checkbox" name="tag" value="b" checked><input type="checkbox" name="off" value="1">' +
        '<textarea name="notes">line 1\n  line 2 </textarea><button name="delete" value="3">x</button></form>',
    )
    $<HTMLButtonElement>('button').click()
    expect(sent()).toEqual([
      { a: 'delete', d: { title: 'Buy milk', tag: ['a', 'b'], notes: 'line 1\n  line 2 ', delete: '3' }, r: 1 },
    ])
  })

  it('falls back to lvt-submit when the button has no name', () => {
    start('<form lvt-submit="save"><input name="a" value="1"><button>Save</button></form>')
    $<HTMLButtonElement>('button').click()
    expect(sent()).toEqual([{ a: 'save', d: { a: '1' }, r: 1 }])
  })

  it('lets the form submit natively before the first connection, and never intercepts GET forms', () => {
    start('<form method="POST"><button name="increment">+</button></form><form method="get"><button name="q">go</button></form>', {
      open: false,
    })
    root.querySelectorAll('button')[0].click()
    ws.fail() // e.g. WebSockets are blocked: the server runs the POST
    root.querySelectorAll('button')[0].click()
    root.querySelectorAll('button')[1].click()
    expect(prevented).toEqual([false, false, false])
    expect(ws.sent).toEqual([])
  })

  it('once connected, a submit while disconnected stays on the page: dropped, the draft kept', () => {
    const html =
      '<form method="POST" lvt-form:preserve><textarea name="notes">saved</textarea><button name="saveNotes">Save</button></form>' +
      '<form method="get"><button name="q">go</button></form>'
    start(html)
    const dropped: any[] = []
    root.addEventListener('lvt:dropped', (e) => dropped.push((e as CustomEvent).detail))
    const notes = $<HTMLTextAreaElement>('textarea')
    notes.value = 'typed while offline'
    ws.fail()
    root.querySelectorAll('button')[0].click()
    expect(prevented).toEqual([true])
    expect(dropped).toEqual([{ action: 'saveNotes', el: $('form') }])
    expect(notes.value).toBe('typed while offline')
    expect($('form').classList.contains('lvt-submit-loading')).toBe(false)
    expect(sent()).toEqual([])
    root.querySelectorAll('button')[1].click() // GET forms still navigate
    expect(prevented).toEqual([true, false])
  })

  it('once connected, an lvt-click link or button while disconnected is dropped, not followed', () => {
    start('<a href="/next" lvt-click="go">next</a><form method="POST"><button lvt-click="inc" name="inc">+</button></form>')
    const dropped: string[] = []
    root.addEventListener('lvt:dropped', (e) => dropped.push((e as CustomEvent).detail.action))
    ws.fail()
    const click = (el: Element) => el.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true }))
    expect(click($('a'))).toBe(false) // default prevented
    expect(click($('button'))).toBe(false)
    expect(prevented).toEqual([]) // the button's click did not submit its form
    expect(dropped).toEqual(['go', 'inc'])
  })

  it('marks form and button lvt-submit-loading until the reply', () => {
    start('<form method="POST"><button name="increment">+</button></form>')
    $<HTMLButtonElement>('button').click()
    expect($('form').classList.contains('lvt-submit-loading')).toBe(true)
    expect($('button').classList.contains('lvt-submit-loading')).toBe(true)
    ws.recv({ r: 1 })
    expect($('form').className).toBe('')
    expect($('button').className).toBe('')
  })

  it('lvt-form:disable-with disables and relabels the button until the reply, across pushes', () => {
    const html = (label: string, n: number) =>
      `<p>${n}</p><form method="POST"><button name="save" lvt-form:disable-with="Saving…">${label}</button></form>`
    start(html('Save', 0))
    const btn = $<HTMLButtonElement>('button')
    btn.click()
    expect(btn.disabled).toBe(true)
    expect(btn.textContent).toBe('Saving…')
    ws.recv(page(html('Save again', 1))) // a server push while the submit is in flight
    expect($('p').textContent).toBe('1')
    expect(btn.disabled).toBe(true)
    expect(btn.textContent).toBe('Saving…')
    expect(btn.classList.contains('lvt-submit-loading')).toBe(true)
    ws.recv({ r: 1 })
    expect(btn.disabled).toBe(false)
    expect(btn.textContent).toBe('Save again')
  })

  it('lvt-change sends the form on input, once per change', () => {
    start('<form lvt-change="validate"><input name="email" value=""><input name="name" value="n"></form>')
    const email = $<HTMLInputElement>('input')
    type(email, 'a@')
    type(email, 'a@b')
    email.dispatchEvent(new Event('change', { bubbles: true })) // same value as the last input
    expect(sent()).toEqual([
      { a: 'validate', d: { email: 'a@', name: 'n', _unused_name: '' }, r: 1 },
      { a: 'validate', d: { email: 'a@b', name: 'n', _unused_name: '' }, r: 2 },
    ])
    expect($('form').classList.contains('lvt-change-loading')).toBe(true)
    ws.recv({ r: 1 })
    expect($('form').classList.contains('lvt-change-loading')).toBe(true)
    ws.recv({ r: 2 })
    expect($('form').classList.contains('lvt-change-loading')).toBe(false)
  })

  it('lvt-change sends checkbox and select changes', () => {
    start('<form lvt-change="filter"><input type="checkbox" name="done" value="1"><select name="s"><option>a</option><option>b</option></select></form>')
    const cb = $<HTMLInputElement>('input')
    cb.checked = true
    cb.dispatchEvent(new Event('change', { bubbles: true }))
    const sel = $<HTMLSelectElement>('select')
    sel.value = 'b'
    sel.dispatchEvent(new Event('change', { bubbles: true }))
    expect(sent().map((f) => f.d)).toEqual([{ done: '1', s: 'a', _unused_s: '' }, { done: '1', s: 'b' }])
  })
})

describe('rate limits', () => {
  it('lvt-debounce="ms" sends once, after the typing stops, with the last value', () => {
    start('<form lvt-change="search"><input name="q" lvt-debounce="200"></form>')
    const q = $<HTMLInputElement>('input')
    type(q, 'a')
    vi.advanceTimersByTime(100)
    type(q, 'ab')
    vi.advanceTimersByTime(100)
    type(q, 'abc')
    vi.advanceTimersByTime(199)
    expect(sent()).toEqual([])
    vi.advanceTimersByTime(1)
    expect(sent()).toEqual([{ a: 'search', d: { q: 'abc' }, r: 1 }])
  })

  it('lvt-debounce on the form applies to all its fields', () => {
    start('<form lvt-change="v" lvt-debounce="50"><input name="a"><input name="b"></form>')
    type($<HTMLInputElement>('input[name=a]'), '1')
    type($<HTMLInputElement>('input[name=b]'), '2')
    vi.advanceTimersByTime(50)
    expect(sent()).toEqual([{ a: 'v', d: { a: '1', b: '2' }, r: 1 }])
  })

  it('lvt-debounce="blur" waits for the field to lose focus', () => {
    start('<form lvt-change="v"><input name="a" lvt-debounce="blur"></form>')
    const a = $<HTMLInputElement>('input')
    a.focus()
    type(a, 'x')
    type(a, 'xy')
    vi.advanceTimersByTime(10_000)
    expect(sent()).toEqual([])
    a.blur()
    expect(sent()).toEqual([{ a: 'v', d: { a: 'xy' }, r: 1 }])
  })

  it('a submit drops pending debounced changes (the submit carries the values)', () => {
    start('<form lvt-change="v" lvt-submit="save"><input name="a" lvt-debounce="300"><button>s</button></form>')
    type($<HTMLInputElement>('input'), 'z')
    $<HTMLButtonElement>('button').click()
    vi.advanceTimersByTime(1000)
    expect(sent()).toEqual([{ a: 'save', d: { a: 'z' }, r: 1 }])
  })

  it('lvt-throttle sends at once, then at most once per interval with the last event', () => {
    start('<button lvt-click="inc" lvt-throttle="100">+</button>')
    const b = $<HTMLButtonElement>('button')
    for (let i = 0; i < 5; i++) b.click()
    expect(sent().length).toBe(1)
    vi.advanceTimersByTime(100)
    expect(sent().length).toBe(2)
    vi.advanceTimersByTime(500)
    expect(sent().length).toBe(2)
    b.click()
    expect(sent().length).toBe(3)
  })
})

describe('events', () => {
  it('lvt-click sends lvt-value-* data and marks lvt-click-loading until every ref is answered', () => {
    start('<ul><li><a href="#" lvt-click="remove" lvt-value-id="7" lvt-value-kind="todo"><span>x</span></a></li></ul>')
    const a = $('a')
    $<HTMLElement>('span').click()
    a.click()
    expect(sent()).toEqual([
      { a: 'remove', d: { id: '7', kind: 'todo' }, r: 1 },
      { a: 'remove', d: { id: '7', kind: 'todo' }, r: 2 },
    ])
    expect(a.classList.contains('lvt-click-loading')).toBe(true)
    ws.recv({ r: 1 })
    expect(a.classList.contains('lvt-click-loading')).toBe(true)
    ws.recv({ r: 2 })
    expect(a.classList.contains('lvt-click-loading')).toBe(false)
  })

  it('keeps loading classes through a morph by a server push', () => {
    start('<p>0</p><button lvt-click="slow">go</button>')
    $<HTMLButtonElement>('button').click()
    ws.recv(page('<p>1</p><button lvt-click="slow">go</button>'))
    expect($('button').classList.contains('lvt-click-loading')).toBe(true)
    ws.recv({ r: 1 })
    expect($('button').classList.contains('lvt-click-loading')).toBe(false)
  })

  it('clears loading state when the connection drops', () => {
    start('<button lvt-click="slow">go</button>')
    $<HTMLButtonElement>('button').click()
    ws.fail()
    expect($('button').className).toBe('')
  })

  it('does not send while disconnected', () => {
    start('<button lvt-click="inc">+</button>')
    ws.fail()
    $<HTMLButtonElement>('button').click()
    expect(sent()).toEqual([])
  })

  it('lvt-keydown / lvt-keyup with lvt-key send {key, value}', () => {
    start('<input name="todo" lvt-keydown="add" lvt-key="Enter" value="milk"><div lvt-keyup="up" lvt-value-x="1"><i></i></div>')
    const input = $<HTMLInputElement>('input')
    key(input, 'a')
    key(input, 'enter')
    key($('i'), 'q', 'keyup')
    expect(sent()).toEqual([
      { a: 'add', d: { key: 'enter', value: 'milk' }, r: 1 },
      { a: 'up', d: { key: 'q', x: '1' }, r: 2 },
    ])
    expect(input.classList.contains('lvt-keydown-loading')).toBe(true)
  })

  it('lvt-window-keydown / keyup listen on the window', () => {
    start('<div lvt-window-keydown="close" lvt-key="Escape"></div><div lvt-window-keyup="any"></div>')
    key(window, 'a')
    key(window, 'Escape')
    key(window, 'b', 'keyup')
    expect(sent()).toEqual([
      { a: 'close', d: { key: 'Escape' }, r: 1 },
      { a: 'any', d: { key: 'b' }, r: 2 },
    ])
  })

  it('lvt-focus / lvt-blur and their window forms', () => {
    start('<input name="e" value="v" lvt-focus="f" lvt-blur="b"><div lvt-window-focus="wf" lvt-window-blur="wb"></div>')
    const e = $<HTMLInputElement>('input')
    e.focus()
    e.blur()
    window.dispatchEvent(new Event('focus'))
    window.dispatchEvent(new Event('blur'))
    expect(sent()).toEqual([
      { a: 'f', d: { value: 'v' }, r: 1 },
      { a: 'b', d: { value: 'v' }, r: 2 },
      { a: 'wf', r: 3 },
      { a: 'wb', r: 4 },
    ])
    expect(e.classList.contains('lvt-focus-loading')).toBe(true)
    expect(e.classList.contains('lvt-blur-loading')).toBe(true)
  })
})

describe('errors', () => {
  it('sets lvt-error and dispatches lvt:error; the next good reply clears it', () => {
    start('<button lvt-click="boom">!</button><button lvt-click="ok">ok</button>')
    const errors: any[] = []
    document.addEventListener('lvt:error', (e) => errors.push((e as CustomEvent).detail))
    root.querySelectorAll('button')[0].click()
    ws.recv({ r: 1, e: 'action `boom` not found on /page' })
    expect(root.classList.contains('lvt-error')).toBe(true)
    expect(errors).toEqual([{ message: 'action `boom` not found on /page', ref: 1, action: 'boom' }])
    root.querySelectorAll('button')[1].click()
    ws.recv({ r: 2 })
    expect(root.classList.contains('lvt-error')).toBe(false)
  })
})

describe('frame limit', () => {
  const LIMIT = 200
  const form =
    '<p lvt-error-message></p><form method="POST"><textarea name="notes"></textarea>' +
    '<button name="save" lvt-form:disable-with="Saving…">Save</button></form>'
  const bytes = (frame: object) => new TextEncoder().encode(JSON.stringify(frame)).length

  it('reads the limit from data-lvt-max-frame (none without it)', () => {
    start('<p>x</p>', { attrs: `data-lvt-max-frame="${LIMIT}"` })
    expect(client.max).toBe(LIMIT)
    client.sock.stop()
    start('<p>x</p>')
    expect(client.max).toBe(Infinity)
    client.push('save', { notes: 'x'.repeat(100_000) }, [], '')
    expect(sent().length).toBe(1)
  })

  it('does not send a message over the limit (in UTF-8 bytes) and reports it as an action error', async () => {
    start(form, { attrs: `data-lvt-max-frame="${LIMIT}"` })
    const errors: any[] = []
    document.addEventListener('lvt:error', (e) => errors.push((e as CustomEvent).detail))
    const notes = $<HTMLTextAreaElement>('textarea')
    // 90 characters, but 180 bytes: with the rest of the frame over the limit.
    notes.value = 'é'.repeat(90)
    const size = bytes({ a: 'save', d: { notes: notes.value }, r: 1 })
    expect(JSON.stringify({ a: 'save', d: { notes: notes.value }, r: 1 }).length).toBeLessThan(LIMIT)
    expect(size).toBeGreaterThan(LIMIT)
    const btn = $<HTMLButtonElement>('button')
    btn.click()
    expect(prevented).toEqual([true])
    await Promise.resolve()
    const message = `message too large: ${size} bytes, the limit is ${LIMIT}`
    expect(sent()).toEqual([])
    expect(errors).toEqual([{ message, ref: 1, action: 'save' }])
    expect(root.classList.contains('lvt-error')).toBe(true)
    expect($('p').textContent).toBe(message)
    expect($('p').hasAttribute('hidden')).toBe(false)
    // The connection stays, the loading state ends, the text stays.
    expect(ws.closed).toBe(false)
    expect(root.classList.contains('lvt-connected')).toBe(true)
    expect($('form').classList.contains('lvt-submit-loading')).toBe(false)
    expect(btn.classList.contains('lvt-submit-loading')).toBe(false)
    expect(btn.disabled).toBe(false)
    expect(btn.textContent).toBe('Save')
    expect(notes.value).toBe('é'.repeat(90))
    expect(client.inFlight.size).toBe(0)

    // A shorter text goes out on the same connection; its reply clears the error.
    notes.value = 'short'
    btn.click()
    expect(sent()).toEqual([{ a: 'save', d: { notes: 'short' }, r: 2 }])
    ws.recv({ r: 2 })
    expect(root.classList.contains('lvt-error')).toBe(false)
    expect($('p').hasAttribute('hidden')).toBe(true)
  })

  it('sends a message of exactly the limit, refuses one byte more', async () => {
    start('<p>x</p>', { attrs: `data-lvt-max-frame="${LIMIT}"` })
    const pad = (n: number) => 'x'.repeat(LIMIT - bytes({ a: 'save', d: { notes: '' }, r: n }))
    expect(client.push('save', { notes: pad(1) }, [], '')).toBe(1)
    expect(sent().length).toBe(1)
    let error: string | undefined = 'none'
    client.push('save', { notes: pad(2) + 'x' }, [], '', { done: (e) => (error = e) })
    await Promise.resolve()
    expect(sent().length).toBe(1)
    expect(error).toBe(`message too large: ${LIMIT + 1} bytes, the limit is ${LIMIT}`)
  })

  it('a recovery replay over the limit does not hold the page back', async () => {
    const html = (n: number) => `<p>${n}</p><form id="f" lvt-change="sync"><textarea name="t"></textarea></form>`
    start(html(0), { attrs: `data-lvt-max-frame="${LIMIT}"` })
    type($<HTMLTextAreaElement>('textarea'), 'y'.repeat(LIMIT))
    ws.sent.length = 0
    reconnect()
    ws.recv({ v: 1, ...page(html(1)) })
    expect(sent()).toEqual([])
    await Promise.resolve()
    expect($('p').textContent).toBe('1')
    expect($<HTMLTextAreaElement>('textarea').value).toBe('y'.repeat(LIMIT))
    expect(root.classList.contains('lvt-error')).toBe(true)
    // and no recovery is left pending: later frames render
    ws.recv(page(html(2)))
    expect($('p').textContent).toBe('2')
  })
})

describe('close codes', () => {
  it.each([1003, 1007, 1008, 1009, 1011])('a close with %i is reported as an error, then the client reconnects', (code) => {
    start('<p lvt-error-message></p><p>x</p>')
    const errors: any[] = []
    root.addEventListener('lvt:error', (e) => errors.push((e as CustomEvent).detail))
    ws.fail(code, 'frame too large')
    const message = `connection closed by the server: frame too large (${code})`
    expect(errors).toEqual([{ code, reason: 'frame too large', message }])
    expect(root.classList.contains('lvt-error')).toBe(true)
    expect(root.classList.contains('lvt-disconnected')).toBe(true)
    expect($('p').textContent).toBe(message)
    vi.runOnlyPendingTimers()
    expect(FakeWS.all.length).toBe(2)
  })

  it('a 1009 before the first frame (the page is over the outbound limit) is shown and not retried', () => {
    start('<p lvt-error-message></p><p>x</p>')
    const errors: any[] = []
    root.addEventListener('lvt:error', (e) => errors.push((e as CustomEvent).detail))
    // Mid-connection: reported, and the client tries again.
    ws.fail(1009, 'page update too large (3000 bytes; the limit is 2000)')
    vi.runOnlyPendingTimers()
    expect(FakeWS.all.length).toBe(2)
    // The new connection is closed before its first frame: no more attempts, ever.
    ws = FakeWS.last
    ws.accept()
    ws.fail(1009, 'page update too large (3000 bytes; the limit is 2000)')
    const message = 'connection closed by the server: page update too large (3000 bytes; the limit is 2000) (1009)'
    expect(errors[1]).toEqual({ code: 1009, reason: 'page update too large (3000 bytes; the limit is 2000)', message, reconnect: false })
    expect(root.classList.contains('lvt-error')).toBe(true)
    expect($('p').textContent).toBe(message)
    vi.advanceTimersByTime(60_000)
    window.dispatchEvent(new Event('online'))
    expect(FakeWS.all.length).toBe(2)
  })

  it.each([1000, 1001, 1006])('a close with %i is not an error (reconnecting is enough)', (code) => {
    start('<p lvt-error-message></p><p>x</p>')
    const errors: any[] = []
    root.addEventListener('lvt:error', (e) => errors.push((e as CustomEvent).detail))
    ws.fail(code, 'bye')
    expect(errors).toEqual([])
    expect(root.classList.contains('lvt-error')).toBe(false)
    expect($('p').hasAttribute('hidden')).toBe(true)
    vi.runOnlyPendingTimers()
    expect(FakeWS.all.length).toBe(2)
  })

  it('a close without a reason still says which code', () => {
    start('<p>x</p>')
    const errors: any[] = []
    root.addEventListener('lvt:error', (e) => errors.push((e as CustomEvent).detail))
    ws.fail(1011)
    expect(errors).toEqual([{ code: 1011, reason: '', message: 'connection closed by the server: error (1011)' }])
  })
})

describe('reconnect recovery', () => {
  const html = (n: number, q = '') =>
    `<p>${n}</p>` +
    `<form id="search" lvt-change="validate"><input name="q" value="${q}"></form>` +
    `<form lvt-auto-recover="restore_draft" method="POST"><textarea name="draft"></textarea></form>` +
    `<form lvt-auto-recover lvt-change="sync"><input name="s" value=""></form>` +
    `<form lvt-change="nope"><input name="w"></form>` +
    `<form id="x" lvt-change="nope" lvt-auto-recover="ignore"><input name="i"></form>`

  it('replays form values after a reconnect, then morphs once the server caught up', () => {
    start(html(0))
    type($<HTMLInputElement>('input[name=q]'), 'draft query')
    type($<HTMLTextAreaElement>('textarea'), 'unsaved text')
    type($<HTMLInputElement>('input[name=s]'), 'sv')
    // The changes while typing (the search's and the auto-recover form's); no replay on the first connect.
    expect(sent().map((f) => f.a)).toEqual(['validate', 'sync'])
    reconnect()
    ws.recv({ v: 1, ...page(html(5)) })
    expect(sent()).toEqual([
      { a: 'validate', d: { q: 'draft query' }, r: 3 },
      { a: 'restore_draft', d: { draft: 'unsaved text' }, r: 4 },
      { a: 'sync', d: { s: 'sv' }, r: 5 },
    ])
    // The DOM waits for the replies so that the user's values are not flashed away.
    expect($('p').textContent).toBe('0')
    expect($<HTMLInputElement>('input[name=q]').value).toBe('draft query')
    ws.recv({ r: 3, ...page(html(5, 'draft query')) })
    ws.recv({ r: 4 })
    expect($('p').textContent).toBe('0')
    ws.recv({ r: 5 })
    expect($('p').textContent).toBe('5')
    expect($<HTMLInputElement>('input[name=q]').value).toBe('draft query')
  })

  it('does not replay on later full trees of the same connection', () => {
    start(html(0))
    reconnect()
    ws.recv(page(html(1)))
    ws.recv({ r: 1 })
    ws.recv({ r: 2 })
    ws.recv({ r: 3 })
    const n = sent().length
    ws.recv(page(html(2)))
    expect(sent().length).toBe(n)
    expect($('p').textContent).toBe('2')
  })
})

describe('hooks', () => {
  it('runs the lifecycle callbacks with this.el, pushEvent and handleEvent', async () => {
    const log: string[] = []
    let pushed: Promise<string | undefined> | undefined
    const got: unknown[] = []
    hooks = {
      Chart: {
        mounted() {
          log.push('mounted ' + this.el.id)
          this.handleEvent('points', (p) => got.push(p))
          pushed = this.pushEvent('loaded', { n: 1 })
        },
        beforeUpdate() {
          log.push('beforeUpdate ' + this.el.textContent)
        },
        updated() {
          log.push('updated ' + this.el.textContent)
        },
        beforeDestroy() {
          log.push('beforeDestroy')
        },
        destroyed() {
          log.push('destroyed')
        },
        disconnected() {
          log.push('disconnected')
        },
        reconnected() {
          log.push('reconnected')
        },
      },
    }
    start('<div id="c" lvt-hook="Chart">1</div><p>a</p>')
    expect(log).toEqual(['mounted c'])
    expect(sent()).toEqual([{ a: 'loaded', d: { n: 1 }, r: 1 }])
    ws.recv({ r: 1, e: 'nope' })
    expect(await pushed).toBe('nope')
    ws.recv(page('<div id="c" lvt-hook="Chart">1</div><p>b</p>'))
    expect(log).toEqual(['mounted c'])
    ws.recv(page('<div id="c" lvt-hook="Chart">2</div><p>b</p>'))
    expect(log.slice(1)).toEqual(['beforeUpdate 1', 'updated 2'])
    const dom: unknown[] = []
    root.addEventListener('lvt:points', (e) => dom.push((e as CustomEvent).detail))
    ws.recv({ events: [['points', [1, 2]], ['other', 0]] })
    expect(got).toEqual([[1, 2]])
    expect(dom).toEqual([[1, 2]])
    reconnect()
    expect(log.slice(3)).toEqual(['disconnected'])
    ws.recv(page('<div id="c" lvt-hook="Chart">2</div>'))
    expect(log.slice(4)).toEqual(['reconnected'])
    ws.recv(page('<p>gone</p>'))
    expect(log.slice(5)).toEqual(['beforeDestroy', 'destroyed'])
    ws.recv({ events: [['points', 3]] })
    expect(got).toEqual([[1, 2]])
  })

  it('mounts hooks of elements added later', () => {
    const log: string[] = []
    hooks = { H: { mounted() { log.push(this.el.tagName) } } }
    start('<p>x</p>')
    ws.recv(page('<p>x</p><section lvt-hook="H"></section>'))
    expect(log).toEqual(['SECTION'])
  })
})

describe('checkboxes show the server state', () => {
  const todo = (done: boolean, q = '') =>
    `<input type="checkbox" lvt-click="toggle" lvt-value-id="1"${done ? ' checked' : ''}>` +
    `<form lvt-change="v"><input name="q" value="${q}"><input type="checkbox" name="pick"></form>`

  it('are restored after an error reply (no diff), keeping drafts of other fields', () => {
    start(todo(false))
    const cb = $<HTMLInputElement>('input[type=checkbox]')
    const q = $<HTMLInputElement>('input[name=q]')
    q.value = 'typed, not sent'
    $<HTMLInputElement>('input[name=pick]').checked = true
    cb.focus()
    cb.click()
    expect(cb.checked).toBe(true) // the browser's default, optimistic
    expect(sent()).toEqual([{ a: 'toggle', d: { id: '1' }, r: 1 }])
    ws.recv({ r: 1, e: 'not allowed' })
    expect(cb.checked).toBe(false)
    expect(q.value).toBe('typed, not sent')
    expect($<HTMLInputElement>('input[name=pick]').checked).toBe(true)
  })

  it('take the server state from a diff even while focused', () => {
    start(todo(false))
    const cb = $<HTMLInputElement>('input[type=checkbox]')
    cb.focus()
    cb.click()
    ws.recv({ r: 1, ...page(todo(false)) }) // the server said no by re-rendering it unchecked
    expect(cb.checked).toBe(false)
    cb.click()
    ws.recv({ r: 2, ...page(todo(true)) })
    expect(cb.checked).toBe(true)
  })

  it('are restored after a click dropped while disconnected, with lvt:dropped', () => {
    start(todo(true))
    const dropped: any[] = []
    root.addEventListener('lvt:dropped', (e) => dropped.push((e as CustomEvent).detail))
    ws.fail()
    const cb = $<HTMLInputElement>('input[type=checkbox]')
    const q = $<HTMLInputElement>('input[name=q]')
    q.value = 'draft'
    cb.focus()
    cb.click()
    expect(cb.checked).toBe(true)
    expect(q.value).toBe('draft')
    expect(dropped).toEqual([{ action: 'toggle', el: cb }])
    expect(sent()).toEqual([])
  })

  it('do not toggle on a click before the first connection (no cached tree yet)', () => {
    start(todo(false), { open: false })
    const cb = $<HTMLInputElement>('input[type=checkbox]')
    cb.click()
    expect(cb.checked).toBe(false)
  })

  it('are restored by the full tree after a reconnect while focused', () => {
    start(todo(false))
    const cb = $<HTMLInputElement>('input[type=checkbox]')
    cb.focus()
    cb.checked = true // e.g. toggled while the client could not undo it
    reconnect()
    ws.recv(page(todo(false)))
    expect(cb.checked).toBe(false)
    expect(document.activeElement).toBe(cb)
  })

  it('a focused text input still keeps its draft across the full tree after a reconnect', () => {
    start(todo(false, 'server'))
    const q = $<HTMLInputElement>('input[name=q]')
    q.focus()
    q.value = 'typing'
    reconnect()
    ws.recv(page(todo(false, 'server')))
    ws.recv({ r: ws.sent.find((f) => f.a === 'v')?.r ?? 0 }) // the recovery reply, if any
    expect(q.value).toBe('typing')
    expect(document.activeElement).toBe(q)
  })
})

describe('lvt-error-message', () => {
  it('shows the last action error, then clears and hides on the next good reply', () => {
    start('<p lvt-error-message class="err"></p><button lvt-click="boom">!</button><button lvt-click="ok">ok</button>')
    const p = $('p.err')
    expect(p.hasAttribute('hidden')).toBe(true)
    root.querySelectorAll('button')[0].click()
    ws.recv({ r: 1, e: 'name is required' })
    expect(p.textContent).toBe('name is required')
    expect(p.hasAttribute('hidden')).toBe(false)
    // an unrelated server push re-renders the page: the message stays
    ws.recv({ d: {} })
    ws.recv(page('<p lvt-error-message class="err"></p><button lvt-click="boom">!</button><button lvt-click="ok">ok</button>'))
    expect($('p.err').textContent).toBe('name is required')
    root.querySelectorAll('button')[1].click()
    ws.recv({ r: 2 })
    expect($('p.err').textContent).toBe('')
    expect($('p.err').hasAttribute('hidden')).toBe(true)
  })
})

describe('forms and errors', () => {
  it('lvt-change marks the fields not used yet with _unused_; a submit uses them all until the form resets', () => {
    start(
      '<form lvt-change="validate" lvt-submit="signup"><input name="name" value=""><input name="email" value="">' +
        '<input type="checkbox" name="tags[]" value="a"><input type="checkbox" name="tags[]" value="b"><input type="hidden" name="h" value="1"></form>',
    )
    type($<HTMLInputElement>('input[name=name]'), 'Ada')
    expect(sent().pop().d).toEqual({ name: 'Ada', email: '', h: '1', '_unused_email': '', '_unused_tags[]': '' })
    const b = root.querySelectorAll<HTMLInputElement>('input[name="tags[]"]')[1]
    b.checked = true
    b.dispatchEvent(new Event('change', { bubbles: true }))
    // One box of the group used: the group is (the server makes `tags[]` a list, even of one).
    expect(sent().pop().d).toEqual({ name: 'Ada', email: '', 'tags[]': 'b', h: '1', '_unused_email': '' })
    $<HTMLFormElement>('form').requestSubmit()
    const submit = sent().pop()
    expect(submit.d).toEqual({ name: 'Ada', email: '', 'tags[]': 'b', h: '1' })
    ws.recv({ r: submit.r, e: 'email: must contain @' })
    type($<HTMLInputElement>('input[name=name]'), 'Ad')
    expect(sent().pop().d).toEqual({ name: 'Ad', email: '', 'tags[]': 'b', h: '1' })
    // A reset forgets what was used.
    $<HTMLFormElement>('form').reset()
    type($<HTMLInputElement>('input[name=email]'), 'x')
    expect(sent().pop().d).toEqual({ name: '', email: 'x', h: '1', '_unused_name': '', '_unused_tags[]': '' })
    // Submitted fields stay used until the form is reset or replaced (as in Phoenix).
    type($<HTMLInputElement>('input[name=email]'), 'y')
    $<HTMLFormElement>('form').requestSubmit()
    ws.recv({ r: sent().pop().r })
    type($<HTMLInputElement>('input[name=name]'), 'Ada')
    expect(sent().pop().d).toEqual({ name: 'Ada', email: 'y', h: '1' })
  })

  it('a <select multiple> named with [] sends its name as it is (the server makes the list)', () => {
    start('<form lvt-submit="save"><select name="tags[]" multiple><option selected>a</option><option>b</option></select></form>')
    $<HTMLFormElement>('form').requestSubmit()
    expect(sent().pop().d).toEqual({ 'tags[]': 'a' })
  })

  const forms =
    '<p lvt-error-message class="page" hidden></p>' +
    '<form id="a" lvt-submit="sa"><input name="x"><button>go</button><p lvt-error-message class="a" hidden></p></form>' +
    '<form id="b" lvt-submit="sb"><input name="y"><button>go</button><p lvt-error-message class="b" hidden></p></form>' +
    '<form id="c" lvt-submit="sc"><input name="z"><button>go</button></form>' +
    '<button lvt-click="elsewhere">x</button>'
  const submit = (id: string) => {
    $<HTMLFormElement>('#' + id).requestSubmit()
    return sent().pop().r
  }
  const shown = () =>
    ['page', 'a', 'b'].map((c) => {
      const el = $('p.' + c)
      return el.hasAttribute('hidden') ? '' : el.textContent
    })

  it('an action error shows next to the form that caused it, never next to another', () => {
    start(forms)
    ws.recv({ r: submit('a'), e: 'bad a' })
    expect(shown()).toEqual(['', 'bad a', ''])
    ws.recv({ r: submit('b'), e: 'bad b' })
    expect(shown()).toEqual(['', 'bad a', 'bad b'])
    // Still there after a re-render of the whole page.
    ws.recv(page(forms))
    expect(shown()).toEqual(['', 'bad a', 'bad b'])
    // B's success clears B's only.
    ws.recv({ r: submit('b') })
    expect(shown()).toEqual(['', 'bad a', ''])
    // A form without an error element, and a button outside forms: the page's element.
    ws.recv({ r: submit('c'), e: 'bad c' })
    expect(shown()).toEqual(['bad c', 'bad a', ''])
    // Any success clears the page's; A's stays until A succeeds.
    $<HTMLButtonElement>('button[lvt-click]').click()
    ws.recv({ r: sent().pop().r })
    expect(shown()).toEqual(['', 'bad a', ''])
    expect(root.classList.contains('lvt-error')).toBe(true)
    ws.recv({ r: submit('a') })
    expect(shown()).toEqual(['', '', ''])
    expect(root.classList.contains('lvt-error')).toBe(false)
  })

  it('a connection error shows in the page-wide element only', () => {
    start(forms)
    ws.fail(1011, 'page failed to restart')
    expect(shown()[0]).toContain('page failed to restart')
    expect(shown().slice(1)).toEqual(['', ''])
  })

  it('a reconnect replays only the forms where the user entered what the new render does not show', () => {
    const html = (q: string, t = 'old') =>
      `<form id="search" lvt-change="search"><input name="q" value="${q}"><input name="sort" value=""></form>` +
      `<form id="edit" lvt-change="edit"><input name="t" value="${t}"></form>`
    start(html(''))
    type($<HTMLInputElement>('input[name=q]'), 'milk')
    // The server answered the search with the query in the field (and its URL).
    ws.recv({ r: sent().pop().r, ...page(html('milk')) })
    const replayed = () => sent().map(({ a, d }) => ({ a, d }))
    reconnect()
    ws.recv({ v: 1, ...page(html('milk')) })
    expect(replayed()).toEqual([])
    // The new render lost the query: it is replayed. A form the user did not touch is not,
    // whatever the server now renders in it.
    reconnect()
    ws.recv({ v: 1, ...page(html('', 'changed elsewhere')) })
    // The replay says which fields the user has not used yet, as a change does.
    expect(replayed()).toEqual([{ a: 'search', d: { q: 'milk', sort: '', _unused_sort: '' } }])
  })

})
