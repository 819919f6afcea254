// Stream slots on the client (docs/protocol.md, "Streams"): `{"s", "x": [ops], "n"}` values in
// full trees (applied to no items) and diffs (applied to the items the client keeps), checked
// against a model list after every frame, and patched in the DOM item by item when the items
// are keyed by `id`.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Client } from '../src/client'
import type { HookDef } from '../src/hooks'
import type { StreamOp } from '../src/protocol'
import { Tree } from '../src/tree'
import { FakeWS } from './fake'

let root: HTMLElement
let client: Client
let ws: FakeWS
let hooks: Record<string, HookDef> = {}

// `<h1 id="count">{{ n }}</h1><ul id="feed">{% for m in messages %}\n  <li id="{{ m.dom_id }}">{{ m.text }}</li>{% endfor %}\n</ul><p>{{ note }}</p>`
const keyed = {
  '0': ['<h1 id="count">', '</h1><ul id="feed">', '\n</ul><p>', '</p>'],
  '1': ['\n  <li id="', '">', '</li>'],
}
// The same without ids on the items, nor on the container.
const unkeyed = {
  '0': ['<h1 id="count">', '</h1><ul>', '\n</ul><p>', '</p>'],
  '1': ['\n  <li>', '</li>'],
}
type Item = [id: string, text: string]

/** What the server's template renders for these items. */
const render = (items: Item[], s = keyed, n = 0, note = '') =>
  s === keyed
    ? `<h1 id="count">${n}</h1><ul id="feed">${items.map(([id, t]) => `\n  <li id="${id}">${t}</li>`).join('')}\n</ul><p>${note}</p>`
    : `<h1 id="count">${n}</h1><ul>${items.map(([, t]) => `\n  <li>${t}</li>`).join('')}\n</ul><p>${note}</p>`

/** An insert op of item `[id, text]` in the layout's positional form. */
const ins = (s: typeof keyed, at: number, [id, t]: Item): StreamOp => ['i', at, id, s === keyed ? [id, t] : [t]]

function start(s: typeof keyed, x: StreamOp[], n?: number) {
  document.body.innerHTML = '<div data-lvt-root id="root"></div>'
  root = document.getElementById('root')!
  FakeWS.all = []
  client = new Client(root, { WebSocket: FakeWS, url: () => 'ws://test/page', random: () => 0.5, hooks: () => hooks })
  client.connect()
  ws = FakeWS.last
  ws.accept().recv({ v: 2, s, t: { s: 0, '0': 0, '1': n === undefined ? { s: 1, x } : { s: 1, x, n }, '2': '' } })
}
const ops = (x: StreamOp[], n?: number) => ({ d: { '1': n === undefined ? { s: 1, x } : { s: 1, x, n } } })

const $ = <T extends Element = HTMLElement>(sel: string) => root.querySelector(sel) as unknown as T
const html = () => root.innerHTML.replace(/ data-mark="1"/g, '')
/** The region as the whole render of the client's tree gives it. */
const whole = () => {
  const div = document.createElement('div')
  div.innerHTML = client.tree.html()
  return div.innerHTML
}
const mark = (...sels: string[]) => sels.forEach((s) => $(s).setAttribute('data-mark', '1'))
const marked = (sel: string) => $(sel)?.getAttribute('data-mark') === '1'

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
  const tree = (x: StreamOp[], n?: number) => {
    const t = new Tree()
    t.apply({ s: keyed, t: { s: 0, '0': 0, '1': { s: 1, x, n }, '2': '' } })
    return t
  }
  const a: Item = ['m1', 'one']
  const b: Item = ['m2', 'two']
  const c: Item = ['m3', 'three']

  it('applies the ops of a full tree to no items', () => {
    expect(tree([ins(keyed, -1, a), ins(keyed, -1, b), ins(keyed, 0, c)]).html()).toBe(render([c, a, b]))
    expect(tree([]).html()).toBe(render([]))
  })

  it('inserts at an index, clamped to the length; -1 appends, 0 prepends', () => {
    const t = tree([ins(keyed, -1, a)])
    t.apply(ops([ins(keyed, 9, b), ins(keyed, 1, c)]))
    expect(t.html()).toBe(render([a, c, b]))
    t.apply(ops([ins(keyed, 0, ['m4', 'four']), ins(keyed, -1, ['m5', 'five'])]))
    expect(t.html()).toBe(render([['m4', 'four'], a, c, b, ['m5', 'five']]))
  })

  it('replaces an item whose dom id it holds in place (an update), whatever the index', () => {
    const t = tree([ins(keyed, -1, a), ins(keyed, -1, b), ins(keyed, -1, c)])
    t.apply(ops([ins(keyed, 0, ['m2', 'TWO'])]))
    expect(t.html()).toBe(render([a, ['m2', 'TWO'], c]))
  })

  it('deletes by dom id; an unknown id is nothing', () => {
    const t = tree([ins(keyed, -1, a), ins(keyed, -1, b), ins(keyed, -1, c)])
    t.apply(ops([['d', 'm2'], ['d', 'nope']]))
    expect(t.html()).toBe(render([a, c]))
  })

  it('resets, and refills with the inserts after the reset', () => {
    const t = tree([ins(keyed, -1, a), ins(keyed, -1, b)])
    t.apply(ops([['r']]))
    expect(t.html()).toBe(render([]))
    t.apply(ops([ins(keyed, -1, a), ['r'], ins(keyed, -1, c)]))
    expect(t.html()).toBe(render([c]))
  })

  it('applies the limit after the ops, and keeps it for later values', () => {
    const t = tree([ins(keyed, -1, a), ins(keyed, -1, b), ins(keyed, -1, c)], -2)
    expect(t.html()).toBe(render([b, c]))
    t.apply(ops([ins(keyed, -1, ['m4', 'four'])]))
    expect(t.html()).toBe(render([c, ['m4', 'four']]))
    // A positive limit keeps the first items.
    t.apply(ops([ins(keyed, 0, a), ins(keyed, 0, b)], 2))
    expect(t.html()).toBe(render([b, a]))
    // Only the limit changed.
    t.apply(ops([], 1))
    expect(t.html()).toBe(render([b]))
  })

  it('takes an item as a node object with its own statics', () => {
    const t = tree([ins(keyed, -1, a)])
    t.apply({ s: { '2': ['\n  <li id="', '" class="big">', '</li>'] }, ...ops([['i', -1, 'm9', { s: 2, '0': 'm9', '1': 'nine' }]]) })
    expect(t.html()).toBe(render([a]).replace('\n</ul>', '\n  <li id="m9" class="big">nine</li>\n</ul>'))
  })

  it('fails on an unknown op', () => {
    const t = tree([])
    expect(() => t.apply(ops([['z'] as unknown as StreamOp]))).toThrow(/unknown stream op z/)
  })
})

describe('the DOM', () => {
  const a: Item = ['m1', 'one']
  const b: Item = ['m2', 'two']
  const c: Item = ['m3', 'three']

  it('inserts, updates and deletes keyed items in place: other items and elements are left alone', () => {
    start(keyed, [ins(keyed, -1, a), ins(keyed, -1, b)])
    expect(html()).toBe(render([a, b]))
    const first = $('#m1')
    mark('h1', '#m2')
    ws.recv(ops([ins(keyed, 0, c)]))
    ws.recv(ops([ins(keyed, 1, ['m1', 'ONE'])]))
    expect($('#m1')).toBe(first)
    ws.recv(ops([['d', 'm3'], ins(keyed, -1, ['m4', 'four'])]))
    expect(html()).toBe(render([['m1', 'ONE'], b, ['m4', 'four']]))
    expect(marked('h1') && marked('#m2')).toBe(true)
    expect(html()).toBe(whole())
  })

  it('fills an empty stream and empties it through its container (an element with an id)', () => {
    start(keyed, [])
    mark('h1')
    ws.recv(ops([ins(keyed, -1, a), ins(keyed, -1, b)]))
    expect(html()).toBe(render([a, b]))
    ws.recv(ops([['r'], ins(keyed, -1, c)]))
    expect(html()).toBe(render([c]))
    ws.recv(ops([['d', 'm3']]))
    expect(html()).toBe(render([]))
    expect(marked('h1')).toBe(true)
  })

  it('applies the limit to the elements', () => {
    start(keyed, [ins(keyed, -1, a), ins(keyed, -1, b)], -2)
    mark('h1')
    ws.recv(ops([ins(keyed, -1, c)]))
    expect(html()).toBe(render([b, c]))
    expect(marked('h1')).toBe(true)
  })

  it('morphs the whole region for unkeyed items, with the same result', () => {
    start(unkeyed, [ins(unkeyed, -1, a), ins(unkeyed, -1, b)])
    mark('h1')
    ws.recv(ops([ins(unkeyed, 1, c), ['d', 'm1']]))
    expect(html()).toBe(render([c, b], unkeyed))
    expect(marked('h1')).toBe(false)
  })

  it('calls the hooks of inserted and deleted items', () => {
    const calls: string[] = []
    const log = (name: string) =>
      function (this: { el: HTMLElement }) {
        calls.push(name + ' ' + this.el.id)
      }
    hooks = { item: { mounted: log('mounted'), destroyed: log('destroyed') } }
    const s = { ...keyed, '1': ['\n  <li lvt-hook="item" id="', '">', '</li>'] }
    start(s, [ins(keyed, -1, a), ins(keyed, -1, b)])
    calls.length = 0
    ws.recv(ops([ins(keyed, -1, c), ['d', 'm1']]))
    expect(calls.sort()).toEqual(['destroyed m1', 'mounted m3'])
  })

  // happy-dom is slow with 5,000 elements: a generous guard, not a speed target.
  it('holds 5,000 items under a limit through ten inserts of 1,000', { timeout: 60_000 }, () => {
    start(keyed, [], -5000)
    let next = 0
    for (let k = 0; k < 10; k++) {
      const x: StreamOp[] = []
      for (let i = 0; i < 1000; i++, next++) x.push(ins(keyed, -1, ['m' + next, 'item ' + next]))
      ws.recv(ops(x))
    }
    const lis = root.querySelectorAll('#feed > li')
    expect(lis.length).toBe(5000)
    expect(lis[0].id).toBe('m5000')
    expect(lis[4999].id).toBe('m9999')
    expect(html()).toBe(whole())
    ws.recv(ops([['d', 'm7000']]))
    expect(root.querySelectorAll('#feed > li').length).toBe(4999)
    expect($('#m7000')).toBe(null)
    ws.recv(ops([['r']]))
    expect(root.querySelectorAll('#feed > li').length).toBe(0)
  })

  for (const [name, s] of [
    ['keyed', keyed],
    ['unkeyed', unkeyed],
  ] as const)
    it(`matches a model list under random ops (${name}, seeded)`, () => {
      let seed = 11
      const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
      const int = (n: number) => Math.floor(rnd() * n)
      let model: Item[] = []
      let limit = 0
      let next = 0
      start(s, [])
      // Keyed: every frame is patched in place (the stream's items, or its container's
      // content), never the whole region, which would drop the mark.
      mark('h1')
      for (let f = 0; f < 150; f++) {
        const x: StreamOp[] = []
        const prev = model.map(([id]) => id)
        for (let k = 0, count = 1 + int(4); k < count; k++) {
          const r = rnd()
          if (r < 0.45 || !model.length) {
            const at = int(model.length + 3) - 1
            const item: Item = ['m' + next, 'item ' + next++]
            x.push(ins(s, at, item))
            model.splice(at < 0 || at > model.length ? model.length : at, 0, item)
          } else if (r < 0.65) {
            const i = int(model.length)
            const item: Item = [model[i][0], 'upd ' + f]
            x.push(ins(s, int(model.length), item))
            model[i] = item
          } else if (r < 0.9) {
            const id = rnd() < 0.9 ? model[int(model.length)][0] : 'gone'
            x.push(['d', id])
            model = model.filter(([m]) => m !== id)
          } else {
            x.push(['r'])
            model = []
          }
        }
        let n: number | undefined
        if (rnd() < 0.1) limit = n = [0, 3, -3, 8, -8][int(5)]
        if (limit) model = limit > 0 ? model.slice(0, limit) : model.slice(Math.max(0, model.length + limit))
        ws.recv({ d: { '0': model.length, '1': n === undefined ? { s: 1, x } : { s: 1, x, n } } })
        expect(html(), `frame ${f}: ${JSON.stringify(x)} n=${n}`).toBe(render(model, s, model.length))
        if (s === keyed) expect(marked("h1"), `frame ${f} patched in place: ${JSON.stringify(x)} n=${n} before ${JSON.stringify(prev)}`).toBe(true)
      }
    })
})

describe('a stream inside a component', () => {
  it('patches the items in place, not the instance', () => {
    const s = {
      '0': ['<main>', '</main>'],
      '1': ['<div lvt-component="chat"><h2>', '</h2><ol id="log">', '</ol></div>'],
      '2': ['<li id="', '">', '</li>'],
    }
    document.body.innerHTML = '<div data-lvt-root id="root"></div>'
    root = document.getElementById('root')!
    FakeWS.all = []
    client = new Client(root, { WebSocket: FakeWS, url: () => 'ws://test/page', random: () => 0.5 })
    client.connect()
    ws = FakeWS.last
    ws.accept().recv({
      v: 2,
      s,
      t: { s: 0, '0': { c: 1 } },
      c: { '1': { s: 1, '0': 'Chat', '1': { s: 2, x: [['i', -1, 'a', ['a', 'A']]] } } },
    })
    mark('h2', '#a')
    ws.recv({ r: 1, c: { '1': { '1': { s: 2, x: [['i', 0, 'b', ['b', 'B']]] } } } })
    expect(marked('h2') && marked('#a')).toBe(true)
    expect(html()).toBe('<main><div lvt-component="chat"><h2>Chat</h2><ol id="log"><li id="b">B</li><li id="a">A</li></ol></div></main>')
  })
})

describe('a form beside the stream', () => {
  // `<h1 id="count">{{ n }}</h1><ul id="feed">{% for m in messages %}…{% endfor %}\n</ul><form method="POST"><input name="text"><button name="send">Send</button></form><p>{{ note }}</p>`
  const withForm = {
    '0': ['<h1 id="count">', '</h1><ul id="feed">', '\n</ul><form method="POST"><input name="text"><button name="send">Send</button></form><p>', '</p>'],
    '1': ['\n  <li id="', '">', '</li>'],
  }

  it('clears the sent text in the reply that only inserts an item (scoped patch)', () => {
    start(withForm as unknown as typeof keyed, [])
    const input = $<HTMLInputElement>('input')
    mark('ul')
    input.focus()
    input.value = 'hello'
    input.dispatchEvent(new Event('input', { bubbles: true }))
    $<HTMLButtonElement>('button').click()
    expect(ws.sent.at(-1)).toMatchObject({ a: 'send', d: { text: 'hello' } })
    const r = ws.sent.at(-1).r
    ws.recv({ r, d: { '0': 1, '1': { s: 1, x: [ins(keyed, 0, ['m1', 'hello'])] } } })
    expect(marked('ul')).toBe(true) // the list was patched, not the whole region morphed
    expect($('#m1').textContent).toBe('hello')
    expect(input.value).toBe('')
    expect(document.activeElement).toBe(input)
  })

  it('keeps a draft in the form while another action or a push inserts an item', () => {
    start(withForm as unknown as typeof keyed, [])
    const input = $<HTMLInputElement>('input')
    input.focus()
    input.value = 'draft'
    input.dispatchEvent(new Event('input', { bubbles: true }))
    ws.recv({ d: { '0': 1, '1': { s: 1, x: [ins(keyed, 0, ['m1', 'from someone'])] } } })
    expect($('#m1').textContent).toBe('from someone')
    expect(input.value).toBe('draft')
  })
})
