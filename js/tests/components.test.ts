// Component instances on the client (docs/protocol.md, "Components"): `{"c": cid}` slots and
// the frame's `"c"` key (full node, node diff, null; with `"t"` the whole set), the HTML rebuilt
// from them, the patch of only a changed instance's wrapper, and the target (`"t"`) of events.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Client } from '../src/client'
import type { HookDef } from '../src/hooks'
import { Tree } from '../src/tree'
import { FakeWS } from './fake'

let root: HTMLElement
let client: Client
let ws: FakeWS
let hooks: Record<string, HookDef> = {}

// The page: `<h1 id="total">{{ total }}</h1><p class="note">{{ note }}</p>{{ a }}{{ b }}`, and
// a counter component whose wrapper carries its instance id in a slot:
// `<div lvt-component="{{ id }}"><p>{{ label }}: <span>{{ count }}</span></p><form method="POST"><button name="inc">+</button></form></div>`
const statics = {
  '0': ['<h1 id="total">', '</h1><p class="note">', '</p>', '', ''],
  '1': ['<div lvt-component="', '"><p>', ': <span>', '</span></p><form method="POST"><button name="inc">+</button></form></div>'],
}
const counter = (id: string, label: string, count: number, ws = '') =>
  `<div lvt-component="${id}"><p>${label}: <span>${count}</span></p><form method="POST"><button name="inc">+</button></form></div>${ws}`
const node = (id: string, label: string, count: number) => ({ s: 1, '0': id, '1': label, '2': count })
const hello = () => ({
  v: 2,
  s: statics,
  t: { s: 0, '0': 0, '1': 'n', '2': { c: 1 }, '3': { c: 2 } },
  c: { '1': node('a', 'A', 0), '2': node('b', 'B', 0) },
})

function start(first: object = hello()) {
  document.body.innerHTML = '<div data-lvt-root id="root"></div>'
  root = document.getElementById('root')!
  FakeWS.all = []
  client = new Client(root, { WebSocket: FakeWS, url: () => 'ws://test/page', random: () => 0.5, hooks: () => hooks })
  client.connect()
  ws = FakeWS.last
  ws.accept().recv(first)
}

const $ = <T extends Element = HTMLElement>(sel: string) => root.querySelector(sel) as unknown as T
/** The region as the whole render of the client's tree gives it. */
const whole = () => {
  const div = document.createElement('div')
  div.innerHTML = client.tree.html()
  return div.innerHTML
}
const html = () => root.innerHTML.replace(/ data-mark="1"/g, '')
const mark = (...sels: string[]) => sels.forEach((s) => $(s).setAttribute('data-mark', '1'))
const marked = (sel: string) => $(sel)?.getAttribute('data-mark') === '1'
const sent = () => ws.sent.filter((f) => !f.h)

beforeEach(() => {
  vi.useFakeTimers()
  hooks = {}
})
afterEach(() => {
  client?.sock.stop()
  client = undefined as unknown as Client
  vi.useRealTimers()
})

describe('the tree', () => {
  const tree = (f: object) => {
    const t = new Tree()
    t.apply(f)
    return t
  }

  it('renders a component slot as the instance node, wrapper included', () => {
    expect(tree(hello()).html()).toBe('<h1 id="total">0</h1><p class="note">n</p>' + counter('a', 'A', 0) + counter('b', 'B', 0))
  })

  it('applies a node diff to one instance, leaving the page and the other instance as they were', () => {
    const t = tree(hello())
    const page = t.root
    expect(t.apply({ c: { '1': { '2': 5 } } })).toBe(true)
    expect(t.root).toBe(page)
    expect(t.html()).toBe('<h1 id="total">0</h1><p class="note">n</p>' + counter('a', 'A', 5) + counter('b', 'B', 0))
    // The page's HTML is not remembered across instance changes.
    t.apply({ c: { '2': { '1': 'Bee', '2': 1 } } })
    expect(t.html()).toBe('<h1 id="total">0</h1><p class="note">n</p>' + counter('a', 'A', 5) + counter('b', 'Bee', 1))
  })

  it('replaces an instance sent whole, adds a new one, drops one sent as null', () => {
    const t = tree(hello())
    t.apply({ s: { '2': ['<i lvt-component="', '">', '</i>'] }, c: { '1': { s: 2, '0': 'a', '1': 'whole' } } })
    expect(t.html()).toContain('<i lvt-component="a">whole</i>')
    t.apply({ d: { '3': { c: 3 } }, c: { '2': null, '3': node('c', 'C', 7) } })
    expect(Object.keys(t.comps)).toEqual(['1', '3'])
    expect(t.html()).toBe('<h1 id="total">0</h1><p class="note">n</p><i lvt-component="a">whole</i>' + counter('c', 'C', 7))
  })

  it('takes the instances of a frame with "t" as the whole set', () => {
    const t = tree(hello())
    t.apply({ t: { s: 0, '0': 1, '1': '', '2': { c: 5 }, '3': '' }, c: { '5': node('a', 'A', 3) } })
    expect(Object.keys(t.comps)).toEqual(['5'])
    expect(t.html()).toBe('<h1 id="total">1</h1><p class="note"></p>' + counter('a', 'A', 3))
  })

  it('renders nested instances, and their changes through the outer one', () => {
    const t = tree({
      v: 2,
      s: { '0': ['<main>', '</main>'], '1': ['<div lvt-component="outer"><h2>', '</h2>', '</div>'], '2': ['<div lvt-component="inner">', '</div>'] },
      t: { s: 0, '0': { c: 1 } },
      c: { '1': { s: 1, '0': 'O', '1': { c: 2 } }, '2': { s: 2, '0': 'x' } },
    })
    expect(t.html()).toBe('<main><div lvt-component="outer"><h2>O</h2><div lvt-component="inner">x</div></div></main>')
    t.apply({ c: { '2': { '0': 'y' } } })
    expect(t.html()).toBe('<main><div lvt-component="outer"><h2>O</h2><div lvt-component="inner">y</div></div></main>')
    expect(t.changes?.comps).toEqual(['<div lvt-component="inner">y</div>'])
  })

  it('fails on a slot naming an instance it does not have', () => {
    expect(() => tree({ v: 2, s: statics, t: { s: 0, '0': 0, '1': '', '2': { c: 9 }, '3': '' } }).html()).toThrow(/unknown component 9/)
  })

  it('fails on a diff for an instance it does not have', () => {
    expect(() => tree(hello()).apply({ c: { '7': { '0': 'x' } } })).toThrow(/diff for unknown component 7/)
  })

  it('forgets the instances on reset (cids belong to one connection)', () => {
    const t = tree(hello())
    t.reset()
    expect(t.comps).toEqual({})
  })
})

describe('the DOM', () => {
  it('renders the first frame with the instances', () => {
    start()
    expect(html()).toBe('<h1 id="total">0</h1><p class="note">n</p>' + counter('a', 'A', 0) + counter('b', 'B', 0))
  })

  it('a frame that changes only an instance patches only its wrapper element', () => {
    start()
    const a = $('[lvt-component=a]')
    mark('h1', '.note', '[lvt-component=b]', '[lvt-component=b] span')
    ws.recv({ r: 1, c: { '1': { '2': 1 } } })
    expect($('[lvt-component=a] span').textContent).toBe('1')
    expect($('[lvt-component=a]')).toBe(a)
    expect(marked('h1') && marked('.note') && marked('[lvt-component=b]') && marked('[lvt-component=b] span')).toBe(true)
    expect(html()).toBe(whole())
  })

  it('patches an instance and the page element of a slot that changed with it', () => {
    start()
    mark('.note', '[lvt-component=b]')
    // The component's message to the page: the total changes (the whole content of #total).
    ws.recv({ r: 1, d: { '0': 1 }, c: { '1': { '2': 1 } } })
    expect($('#total').textContent).toBe('1')
    expect(marked('.note') && marked('[lvt-component=b]')).toBe(true)
    expect(html()).toBe(whole())
  })

  it('morphs the whole region when the page changed elsewhere, a new instance included', () => {
    start()
    mark('h1')
    ws.recv({ d: { '1': 'm', '3': { c: 3 } }, c: { '2': null, '3': node('c', 'C', 2) } })
    expect(marked('h1')).toBe(false)
    expect(html()).toBe('<h1 id="total">0</h1><p class="note">m</p>' + counter('a', 'A', 0) + counter('c', 'C', 2))
  })

  it('patches list items inside an instance without morphing the rest of it', () => {
    const s = {
      '0': ['<main>', '</main>'],
      '1': ['<div lvt-component="todo"><h2>', '</h2><ul>', '</ul></div>'],
      '2': ['<li id="', '">', '</li>'],
    }
    start({ v: 2, s, t: { s: 0, '0': { c: 1 } }, c: { '1': { s: 1, '0': 'Todo', '1': { s: 2, l: [['t1', 'one'], ['t2', 'two']] } } } })
    const t1 = $('#t1')
    mark('h2', '#t2')
    ws.recv({ r: 1, c: { '1': { '1': { o: [['i', 2, ['t3', 'three']], ['u', 0, { '1': 'ONE' }]] } } } })
    expect(marked('h2') && marked('#t2')).toBe(true)
    expect($('#t1')).toBe(t1)
    expect(html()).toBe('<main><div lvt-component="todo"><h2>Todo</h2><ul><li id="t1">ONE</li><li id="t2">two</li><li id="t3">three</li></ul></div></main>')
  })

  it('patches a nested instance alone, and an outer one with the inner one inside', () => {
    const s = {
      '0': ['<main><h1>', '</h1>', '</main>'],
      '1': ['<section lvt-component="outer"><h2>', '</h2>', '</section>'],
      '2': ['<div lvt-component="inner"><b>', '</b></div>'],
    }
    start({ v: 2, s, t: { s: 0, '0': 'P', '1': { c: 1 } }, c: { '1': { s: 1, '0': 'O', '1': { c: 2 } }, '2': { s: 2, '0': 'x' } } })
    mark('h1', 'h2')
    ws.recv({ c: { '2': { '0': 'y' } } })
    expect(marked('h1') && marked('h2')).toBe(true)
    ws.recv({ c: { '1': { '0': 'O2' }, '2': { '0': 'z' } } })
    expect(marked('h1')).toBe(true)
    expect(html()).toBe('<main><h1>P</h1><section lvt-component="outer"><h2>O2</h2><div lvt-component="inner"><b>z</b></div></section></main>')
  })

  it('finds an instance whose id needs escaping in HTML', () => {
    start({
      v: 2,
      s: { '0': ['<p id="x">', '</p>', ''], '1': ['<div lvt-component="a&amp;b"><i>', '</i></div>'] },
      t: { s: 0, '0': 'p', '1': { c: 1 } },
      c: { '1': { s: 1, '0': 0 } },
    })
    mark('#x')
    ws.recv({ c: { '1': { '0': 1 } } })
    expect(html()).toBe(whole())
    expect($('i').textContent).toBe('1')
    expect(marked('#x')).toBe(true)
  })

  it('keeps the loading class of a clicked button through a patch of its instance', () => {
    start({
      v: 2,
      s: { '0': ['<main>', '</main>'], '1': ['<div lvt-component="a"><p>', '</p><button lvt-click="inc">+</button></div>'] },
      t: { s: 0, '0': { c: 1 } },
      c: { '1': { s: 1, '0': 0 } },
    })
    $<HTMLButtonElement>('button').click()
    expect(sent()).toEqual([{ a: 'inc', r: 1, t: 'a' }])
    expect($('button').classList.contains('lvt-click-loading')).toBe(true)
    // Another change of the instance arrives first (a push): the class stays until the reply.
    ws.recv({ c: { '1': { '0': 5 } } })
    expect($('p').textContent).toBe('5')
    expect($('button').classList.contains('lvt-click-loading')).toBe(true)
    ws.recv({ r: 1, c: { '1': { '0': 6 } } })
    expect($('button').classList.contains('lvt-click-loading')).toBe(false)
    expect($('p').textContent).toBe('6')
  })

  it('keeps the focused field of the patched instance', () => {
    const s = {
      '0': ['<main>', '</main>'],
      '1': ['<div lvt-component="a"><p>', '</p><input name="label" value="', '"></div>'],
    }
    start({ v: 2, s, t: { s: 0, '0': { c: 1 } }, c: { '1': { s: 1, '0': 'x', '1': 'v' } } })
    const input = $<HTMLInputElement>('input')
    input.focus()
    input.value = 'typing'
    ws.recv({ c: { '1': { '0': 'y', '1': 'server' } } })
    expect($('p').textContent).toBe('y')
    expect(document.activeElement).toBe(input)
    expect(input.value).toBe('typing')
  })
})

describe('event targets', () => {
  const page = (html: string) => ({ v: 2, s: { p: [html] }, t: { s: 'p' } })

  it('an event inside an instance goes to it; lvt-target picks another or the page', () => {
    start(
      page(
        '<button id="top" lvt-click="go">top</button>' +
          '<div lvt-component="a"><button id="own" lvt-click="inc">+</button>' +
          '<button id="up" lvt-click="save" lvt-target="page">save</button>' +
          '<div lvt-target="b"><button id="other" lvt-click="inc">b+</button></div>' +
          '<div lvt-component="n"><button id="nested" lvt-click="inc">n+</button></div></div>' +
          '<div lvt-target="c"><button id="outside" lvt-click="inc">c+</button></div>',
      ),
    )
    for (const id of ['top', 'own', 'up', 'other', 'nested', 'outside']) $<HTMLButtonElement>('#' + id).click()
    expect(sent()).toEqual([
      { a: 'go', r: 1 },
      { a: 'inc', r: 2, t: 'a' },
      { a: 'save', r: 3 },
      { a: 'inc', r: 4, t: 'b' },
      { a: 'inc', r: 5, t: 'n' },
      { a: 'inc', r: 6, t: 'c' },
    ])
  })

  it('a form inside an instance posts its fields (the hidden lvt-target among them) to it', () => {
    start(
      page(
        '<div lvt-component="a"><form method="POST"><input type="hidden" name="lvt-target" value="a">' +
          '<input name="label" value="x"><button name="rename">ok</button></form></div>',
      ),
    )
    $<HTMLButtonElement>('button').click()
    expect(sent()).toEqual([{ a: 'rename', d: { 'lvt-target': 'a', label: 'x' }, r: 1, t: 'a' }])
  })

  it('a hook inside an instance pushes to it', () => {
    hooks = {
      H: {
        mounted() {
          this.pushEvent('ping', { x: 1 })
        },
      },
    }
    start(page('<div lvt-component="a"><canvas lvt-hook="H"></canvas></div>'))
    expect(sent()).toEqual([{ a: 'ping', d: { x: 1 }, r: 1, t: 'a' }])
  })
})
