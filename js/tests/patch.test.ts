// The scoped paths of rendering a frame (src/patch.ts): list items and id'd elements patched in
// place, checked against the whole render of the tree after every frame, and the fallback to
// the whole-region morph when a change cannot be scoped.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Client } from '../src/client'
import type { HookDef } from '../src/hooks'
import type { ListOp } from '../src/protocol'
import { FakeWS } from './fake'

let root: HTMLElement
let client: Client
let ws: FakeWS
let hooks: Record<string, HookDef> = {}

const statics = {
  '0': ['<h1 id="title">', '</h1><p class="note">', '</p><table><tbody id="rows">', '</tbody></table>'],
  // A loop body with whitespace around its element, as templates usually have.
  '1': ['\n    <tr data-key="', '" lvt-hook="row"><td>', '</td><td><input name="v" value="', '"></td></tr>\n  '],
  '2': ['<tr><td>', '</td></tr>'],
  '3': ['<li>', '</li>'],
}
type Row = [string, string, string]
const rows = (n: number): Row[] => Array.from({ length: n }, (_, i) => ['k' + i, 'row ' + i, 'v' + i])

function start(items: Row[], opts: { title?: string; note?: string; s?: Record<string, string[]> } = {}) {
  document.body.innerHTML = '<div data-lvt-root id="root"></div>'
  root = document.getElementById('root')!
  FakeWS.all = []
  client = new Client(root, { WebSocket: FakeWS, url: () => 'ws://test/page', random: () => 0.5, hooks: () => hooks })
  client.connect()
  ws = FakeWS.last
  ws.accept().recv({ v: 2, s: opts.s || statics, t: { s: 0, '0': opts.title ?? 'T', '1': opts.note ?? 'n', '2': { s: 1, l: items } } })
}

/** The region as the whole render of the client's tree gives it. */
const whole = () => {
  const div = document.createElement('div')
  div.innerHTML = client.tree.html()
  return div.innerHTML
}
/** The region without the marks tests put on it. */
const html = () => root.innerHTML.replace(/ data-mark="1"/g, '')
const list = (o: ListOp[]) => ({ d: { '2': { o } } })
const $ = <T extends Element = HTMLElement>(sel: string) => root.querySelector(sel) as unknown as T
/** Marks elements the way page script might: a whole-region morph strips marks the server never rendered. */
const mark = (...sels: string[]) => sels.forEach((s) => $(s).setAttribute('data-mark', '1'))
const marked = (sel: string) => $(sel)?.getAttribute('data-mark') === '1'

beforeEach(() => {
  vi.useFakeTimers()
  hooks = {}
})
afterEach(() => vi.useRealTimers())

describe('list items patched in their own elements', () => {
  it('updates one row: same element, unrelated elements untouched, same HTML as the whole render', () => {
    start(rows(5))
    const row = $('[data-key=k2]')
    mark('h1', '.note', '[data-key=k1]')
    ws.recv(list([['u', 2, { '1': 'changed' }]]))
    expect($('[data-key=k2] td').textContent).toBe('changed')
    expect($('[data-key=k2]')).toBe(row)
    expect(marked('h1') && marked('.note') && marked('[data-key=k1]')).toBe(true)
    expect(html()).toBe(whole())
  })

  it('inserts, removes and moves rows at the ends and in the middle, text between rows included', () => {
    start(rows(3))
    mark('h1')
    const steps: ListOp[][] = [
      [['i', 0, ['a', 'A', '']]],
      [['i', 4, ['z', 'Z', '']]],
      [['i', 2, ['m', 'M', '']]],
      [['r', 0]],
      [['r', 4]],
      [['r', 1]],
      [['m', 0, 2]],
      [['m', 2, 0]],
      [['m', 1, 2], ['u', 0, { '1': 'first' }], ['i', 1, ['n', 'N', '']], ['r', 3]],
    ]
    for (const o of steps) {
      ws.recv(list(o))
      expect(html(), JSON.stringify(o)).toBe(whole())
    }
    expect(marked('h1')).toBe(true)
  })

  it('matches the whole render under random edits (seeded)', () => {
    let seed = 7
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648)
    const int = (n: number) => Math.floor(rnd() * n)
    start(rows(6))
    mark('h1')
    let n = 6
    let next = 100
    for (let f = 0; f < 60; f++) {
      const o: ListOp[] = []
      for (let k = 0, c = 1 + int(3); k < c; k++) {
        const r = rnd()
        if (r < 0.3 || n < 2) o.push(['i', int(n + 1), ['x' + next, 'X' + next++, '']]), n++
        else if (r < 0.5) o.push(['r', int(n)]), n--
        else if (r < 0.75) o.push(['m', int(n), int(n)])
        else o.push(['u', int(n), { '1': 'u' + f }])
      }
      ws.recv(list(o))
      expect(html(), `frame ${f}: ${JSON.stringify(o)}`).toBe(whole())
    }
    expect(marked('h1')).toBe(true)
  })

  it('keeps the focused field of an updated row: its typed value and caret', () => {
    start(rows(3))
    const input = $<HTMLInputElement>('[data-key=k1] input')
    input.focus()
    input.value = 'typing'
    input.setSelectionRange(2, 3)
    ws.recv(list([['u', 1, { '1': 'other', '2': 'server' }], ['m', 1, 0]]))
    expect($('[data-key=k1] td').textContent).toBe('other')
    expect(document.activeElement).toBe(input)
    expect(input.value).toBe('typing')
    expect([input.selectionStart, input.selectionEnd]).toEqual([2, 3])
  })

  it('calls beforeUpdate/updated only for the changed row, mounted for a new one, destroyed for a removed one', () => {
    const calls: string[] = []
    const log = (name: string) =>
      function (this: { el: HTMLElement }) {
        calls.push(name + ' ' + this.el.getAttribute('data-key'))
      }
    hooks = { row: { mounted: log('mounted'), beforeUpdate: log('beforeUpdate'), updated: log('updated'), destroyed: log('destroyed') } }
    start(rows(3))
    calls.length = 0
    ws.recv(list([['u', 1, { '1': 'x' }]]))
    expect(calls).toEqual(['beforeUpdate k1', 'updated k1'])
    calls.length = 0
    ws.recv(list([['i', 0, ['new', 'N', '']], ['r', 3]]))
    expect(calls.sort()).toEqual(['destroyed k2', 'mounted new'])
  })

  it('patches an element whose whole content is a slot, found by its id', () => {
    start(rows(2))
    mark('.note', '[data-key=k0]')
    ws.recv({ d: { '0': 'New <em>title</em>' } })
    expect($('h1').innerHTML).toBe('New <em>title</em>')
    expect(marked('.note') && marked('[data-key=k0]')).toBe(true)
    // The list empties and fills again: the content of <tbody id="rows">.
    ws.recv(list([['r', 0], ['r', 0]]))
    expect(html()).toBe(whole())
    ws.recv(list([['i', 0, ['a', 'A', '']]]))
    expect(html()).toBe(whole())
    expect(marked('.note')).toBe(true)
  })
})

describe('lists that use the same keys', () => {
  it('finds a list by its elements lining up with its items, and morphs all when that is ambiguous', () => {
    const s = { '0': ['<h1 id="title">', '</h1><ul>', '</ul><ol>', '</ol>'], '1': ['<li data-key="', '">', '</li>'] }
    document.body.innerHTML = '<div data-lvt-root id="root"></div>'
    root = document.getElementById('root')!
    FakeWS.all = []
    client = new Client(root, { WebSocket: FakeWS, url: () => 'ws://test/page', random: () => 0.5 })
    client.connect()
    ws = FakeWS.last
    const items = (...ks: string[]) => ({ s: 1, l: ks.map((k) => [k, k.toUpperCase()]) })
    ws.accept().recv({ v: 2, s, t: { s: 0, '0': 'T', '1': items('a', 'b'), '2': items('a', 'b', 'c') } })
    mark('h1')
    // Only the <ol>'s elements line up with a, b, c.
    ws.recv({ d: { '2': { o: [['u', 1, { '1': 'second list' }]] } } })
    expect($('ol [data-key=b]').textContent).toBe('second list')
    expect(marked('h1')).toBe(true)
    // a, b: the <ul>, or the start of the <ol>? The whole region is morphed.
    ws.recv({ d: { '1': { o: [['u', 1, { '1': 'first list' }]] } } })
    expect($('ul [data-key=b]').textContent).toBe('first list')
    expect(marked('h1')).toBe(false)
    expect(html()).toBe(whole())
  })
})

describe('client state through scoped patches', () => {
  const s = {
    ...statics,
    '1': ['<tr data-key="', '"><td>', '</td><td><button lvt-click="bump" lvt-value-id="', '">+</button><span lvt-error-message></span></td></tr>'],
  }

  it('keeps the loading class of a button whose click is in flight when its row is patched', () => {
    start(rows(3), { s })
    $<HTMLButtonElement>('[data-key=k1] button').click()
    const btn = $('[data-key=k1] button')
    expect(btn.classList.contains('lvt-click-loading')).toBe(true)
    // A push (no ref) changes that row while the click is unanswered.
    ws.recv(list([['u', 1, { '1': 'pushed' }]]))
    expect($('[data-key=k1] td').textContent).toBe('pushed')
    expect(btn.classList.contains('lvt-click-loading')).toBe(true)
    const r = ws.sent.filter((f) => f.a === 'bump').pop().r
    ws.recv({ r, d: { '2': { o: [['u', 1, { '1': 'bumped' }]] } } })
    expect(btn.classList.contains('lvt-click-loading')).toBe(false)
  })

  it('shows the current error in the error elements of inserted rows, hidden once a reply succeeds', () => {
    start(rows(1), { s })
    $<HTMLButtonElement>('[data-key=k0] button').click()
    const r = ws.sent.filter((f) => f.a === 'bump').pop().r
    ws.recv({ r, e: 'no such row' })
    expect($('[data-key=k0] span').textContent).toBe('no such row')
    ws.recv(list([['i', 1, ['k9', 'new', 'v']]]))
    const span = $('[data-key=k9] span')
    expect(span.textContent).toBe('no such row')
    expect(span.hasAttribute('hidden')).toBe(false)
    $<HTMLButtonElement>('[data-key=k9] button').click()
    ws.recv({ r: ws.sent.filter((f) => f.a === 'bump').pop().r })
    expect(span.textContent).toBe('')
    expect(span.hasAttribute('hidden')).toBe(true)
  })
})

describe('falls back to the whole-region morph', () => {
  it('when a slot outside any id changed', () => {
    start(rows(2))
    mark('h1')
    ws.recv({ d: { '1': 'note 2', '2': { o: [['u', 0, { '1': 'x' }]] } } })
    expect(marked('h1')).toBe(false)
    expect(html()).toBe(whole())
  })

  it('when the page no longer matches the tree (a row removed by page script)', () => {
    start(rows(4))
    $('[data-key=k3]').remove()
    ws.recv(list([['u', 3, { '1': 'back' }]]))
    expect(html()).toBe(whole())
    expect($('[data-key=k3] td').textContent).toBe('back')
  })

  it('when items have no key, or are not one element', () => {
    start([], { s: { ...statics, '1': ['<tr><td>', '</td><td>', '</td><td>', '</td></tr>'] } })
    ws.recv({ d: { '2': { s: 1, l: [['a', 'A', ''], ['b', 'B', '']] } } })
    mark('h1')
    ws.recv(list([['u', 1, { '1': 'B2' }]]))
    expect(marked('h1')).toBe(false)
    expect(html()).toBe(whole())
  })

  it('when a container above the list has lvt-update', () => {
    const s = { ...statics, '0': ['<h1 id="title">', '</h1><p class="note">', '</p><table><tbody lvt-update="ignore">', '</tbody></table>'] }
    start(rows(2), { s })
    ws.recv(list([['u', 1, { '1': 'ignored' }]]))
    expect($('[data-key=k1] td').textContent).toBe('row 1')
  })

  it('to the morph of the id\'d element around a rebuilt list (reordered by key)', () => {
    start(rows(3))
    mark('h1')
    const first = $('[data-key=k0]')
    ws.recv(list([['o', [2, 1, 0]]]))
    expect(html()).toBe(whole())
    expect($('[data-key=k0]')).toBe(first)
    expect(marked('h1')).toBe(true)
  })
})
