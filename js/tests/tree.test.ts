import { describe, expect, it } from 'vitest'
import { Tree, type ListOp, type TNode } from '../src/tree'

const statics = {
  '0': ['<ul>', '</ul><p>', '</p>'],
  '1': ['<li data-key="', '">', '</li>'],
  '2': ['<em>empty</em>'],
  '3': ['<b>', '</b>'],
}
const li = (k: string, t: string): TNode => ({ s: 1, '0': k, '1': t })

function tree(t: TNode, s: Record<string, string[]> = statics): Tree {
  const tr = new Tree()
  tr.apply({ s, t })
  return tr
}

describe('full trees', () => {
  it('renders statics interleaved with dynamics', () => {
    const tr = tree({ s: 0, '0': { l: [li('a', 'A'), li('b', 'B')] }, '1': '2' })
    expect(tr.html()).toBe('<ul><li data-key="a">A</li><li data-key="b">B</li></ul><p>2</p>')
  })

  it('renders nested branches and the else branch of an empty loop', () => {
    expect(tree({ s: 0, '0': { l: [], e: { s: 2 } }, '1': { s: 3, '0': '9' } }).html()).toBe(
      '<ul><em>empty</em></ul><p><b>9</b></p>',
    )
    expect(tree({ s: 0, '0': { l: [], e: 'none' }, '1': '' }).html()).toBe('<ul>none</ul><p></p>')
    // The else branch is not rendered while the loop has items.
    expect(tree({ s: 0, '0': { l: [li('a', 'A')], e: 'none' }, '1': '' }).html()).toBe(
      '<ul><li data-key="a">A</li></ul><p></p>',
    )
  })

  it('inserts dynamic text as is (the server escapes)', () => {
    expect(tree({ s: 3, '0': '&lt;x&gt; &amp;' }).html()).toBe('<b>&lt;x&gt; &amp;</b>')
  })

  it('a new full tree replaces the old one entirely', () => {
    const tr = tree({ s: 0, '0': { l: [li('a', 'A')] }, '1': '1' })
    tr.apply({ t: { s: 3, '0': 'x' } })
    expect(tr.html()).toBe('<b>x</b>')
  })

  it('fails on an unknown statics id', () => {
    expect(() => tree({ s: 9 }).html()).toThrow(/unknown statics id 9/)
  })

  it('forgets statics on reset (they are per connection)', () => {
    const tr = tree({ s: 3, '0': 'x' })
    tr.reset()
    expect(tr.statics).toEqual({})
    expect(tr.html()).toBe('')
    expect(() => tr.apply({ t: { s: 3, '0': 'x' } }) && tr.html()).toThrow(/unknown statics/)
  })
})

describe('diffs', () => {
  const base = () => tree({ s: 0, '0': { l: [li('a', 'A'), li('b', 'B'), li('c', 'C')], e: { s: 2 } }, '1': '3' })

  it('changes only the named slots', () => {
    const tr = base()
    expect(tr.apply({ d: { '1': '4' } })).toBe(true)
    expect(tr.html()).toBe('<ul><li data-key="a">A</li><li data-key="b">B</li><li data-key="c">C</li></ul><p>4</p>')
  })

  it('replaces a slot with a full node, then diffs that node', () => {
    const tr = base()
    tr.apply({ d: { '1': { s: 3, '0': '5' } } })
    expect(tr.html()).toMatch(/<p><b>5<\/b><\/p>$/)
    tr.apply({ d: { '1': { '0': '6' } } })
    expect(tr.html()).toMatch(/<p><b>6<\/b><\/p>$/)
    tr.apply({ d: { '1': '' } })
    expect(tr.html()).toMatch(/<p><\/p>$/)
  })

  it('replaces a whole list', () => {
    const tr = base()
    tr.apply({ d: { '0': { l: [li('z', 'Z')] } } })
    expect(tr.html()).toBe('<ul><li data-key="z">Z</li></ul><p>3</p>')
  })

  const keys = (tr: Tree) => [...tr.html().matchAll(/data-key="(\w+)">(\w+)</g)].map((m) => m[1] + m[2]).join(' ')
  const ops = (o: ListOp[], e?: unknown) => ({ d: { '0': e === undefined ? { o } : { o, e } } })

  it('removes', () => {
    const tr = base()
    tr.apply(ops([['r', 1]]))
    expect(keys(tr)).toBe('aA cC')
  })

  it('inserts', () => {
    const tr = base()
    tr.apply(ops([['i', 0, li('x', 'X')], ['i', 4, li('y', 'Y')]]))
    expect(keys(tr)).toBe('xX aA bB cC yY')
  })

  it('moves (take out, then insert at the target index)', () => {
    const tr = base()
    tr.apply(ops([['m', 0, 2]]))
    expect(keys(tr)).toBe('bB cC aA')
    tr.apply(ops([['m', 2, 0]]))
    expect(keys(tr)).toBe('aA bB cC')
  })

  it('updates an item with a node diff', () => {
    const tr = base()
    tr.apply(ops([['u', 2, { '1': 'see' }]]))
    expect(keys(tr)).toBe('aA bB csee')
  })

  it('rebuilds from reused indexes and new nodes', () => {
    const tr = base()
    tr.apply(ops([['o', [2, li('n', 'N'), 0]]]))
    expect(keys(tr)).toBe('cC nN aA')
  })

  it('applies ops in order', () => {
    const tr = base()
    tr.apply(ops([['r', 0], ['i', 0, li('x', 'X')], ['m', 0, 2], ['u', 0, { '1': 'b' }]]))
    expect(keys(tr)).toBe('bb cC xX')
  })

  it('shows the else branch when the list empties, and updates it beside ops', () => {
    const tr = base()
    tr.apply(ops([['r', 0], ['r', 0], ['r', 0]]))
    expect(tr.html()).toBe('<ul><em>empty</em></ul><p>3</p>')
    tr.apply(ops([], 'nothing'))
    expect(tr.html()).toBe('<ul>nothing</ul><p>3</p>')
    tr.apply(ops([], { s: 3, '0': 'zero' }))
    expect(tr.html()).toBe('<ul><b>zero</b></ul><p>3</p>')
    tr.apply(ops([['i', 0, li('a', 'A')]]))
    expect(keys(tr)).toBe('aA')
  })

  it('rejects out-of-range ops and diffs before a tree', () => {
    expect(() => base().apply(ops([['u', 7, { '1': 'x' }]]))).toThrow()
    expect(() => base().apply(ops([['o', [0, 5]]]))).toThrow(/out of range/)
    expect(() => base().apply(ops([['x', 0]] as unknown as ListOp[]))).toThrow(/unknown list op/)
    expect(() => new Tree().apply({ d: { '0': 'x' } })).toThrow(/before the first tree/)
  })

  it('reuses statics by id across frames', () => {
    const tr = new Tree()
    tr.apply({ s: { '0': statics['0'], '1': statics['1'] }, t: { s: 0, '0': { l: [] }, '1': '0' } })
    // Frame 2 introduces the branch statics; frame 3 uses ids from frames 1 and 2 only.
    tr.apply({ s: { '3': statics['3'] }, d: { '1': { s: 3, '0': '1' } } })
    tr.apply({ d: { '0': { o: [['i', 0, li('q', 'Q')]] }, '1': { s: 3, '0': '2' } } })
    expect(tr.html()).toBe('<ul><li data-key="q">Q</li></ul><p><b>2</b></p>')
  })

  it('does not let a reused item alias another', () => {
    const tr = base()
    tr.apply(ops([['o', [0, 0]]]))
    tr.apply(ops([['u', 0, { '1': 'one' }]]))
    expect(keys(tr)).toBe('aone aA')
  })
})

// Random edits to a keyed list, sent as list ops, must rebuild exactly what a direct render of
// the same state gives.
describe('HTML equality under random list edits', () => {
  type Item = { k: string; t: string }
  const render = (items: Item[], n: number) =>
    '<ul>' +
    (items.length ? items.map((i) => `<li data-key="${i.k}">${i.t}</li>`).join('') : '<em>empty</em>') +
    '</ul><p>' +
    (n > 3 ? `<b>${n}</b>` : String(n)) +
    '</p>'
  const count = (n: number) => (n > 3 ? { s: 3, '0': String(n) } : String(n))

  function mulberry32(a: number) {
    return () => {
      a |= 0
      a = (a + 0x6d2b79f5) | 0
      let t = Math.imul(a ^ (a >>> 15), 1 | a)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
  }

  for (const seed of [1, 2, 3, 4, 5]) {
    it(`seed ${seed}`, () => {
      const rnd = mulberry32(seed)
      const int = (n: number) => Math.floor(rnd() * n)
      let next = 0
      const fresh = (): Item => ({ k: 'k' + next++, t: 'T' + int(1000) })
      let items: Item[] = [fresh(), fresh()]
      const tr = new Tree()
      tr.apply({ s: statics, t: { s: 0, '0': { l: items.map((i) => li(i.k, i.t)), e: { s: 2 } }, '1': count(items.length) } })
      expect(tr.html()).toBe(render(items, items.length))
      for (let step = 0; step < 200; step++) {
        const o: ListOp[] = []
        for (let j = int(4); j >= 0; j--) {
          const kind = int(items.length ? 6 : 1)
          if (kind === 0) {
            const i = int(items.length + 1)
            const it = fresh()
            items.splice(i, 0, it)
            o.push(['i', i, li(it.k, it.t)])
          } else if (kind === 1) {
            const i = int(items.length)
            items.splice(i, 1)
            o.push(['r', i])
          } else if (kind === 2) {
            const from = int(items.length)
            const to = int(items.length)
            items.splice(to, 0, items.splice(from, 1)[0])
            o.push(['m', from, to])
          } else if (kind === 3 || kind === 4) {
            const i = int(items.length)
            items[i] = { ...items[i], t: 'U' + step }
            o.push(['u', i, { '1': items[i].t }])
          } else {
            const idx = items.map((_, i) => i).filter(() => rnd() < 0.7)
            idx.sort(() => rnd() - 0.5)
            const out: Array<number | TNode> = []
            const nextItems: Item[] = []
            for (const i of idx) {
              out.push(i)
              nextItems.push(items[i])
              if (rnd() < 0.2) {
                const it = fresh()
                out.push(li(it.k, it.t))
                nextItems.push(it)
              }
            }
            items = nextItems
            o.push(['o', out])
          }
        }
        tr.apply({ d: { '0': { o }, '1': count(items.length) } })
        expect(tr.html()).toBe(render(items, items.length))
      }
    })
  }
})

describe('positional items (protocol 2)', () => {
  const pos = () => tree({ s: 0, '0': { s: 1, l: [['a', 'A'], ['b', 'B']] }, '1': '3' })

  it('renders array items with the list statics, beside node items', () => {
    expect(pos().html()).toBe('<ul><li data-key="a">A</li><li data-key="b">B</li></ul><p>3</p>')
    const mixed = tree({ s: 0, '0': { s: 1, l: [['a', 'A'], { s: 3, '0': 'odd' }] }, '1': '' })
    expect(mixed.html()).toBe('<ul><li data-key="a">A</li><b>odd</b></ul><p></p>')
  })

  it('reads a list before a node although both carry s', () => {
    const tr = pos()
    tr.apply({ d: { '0': { s: 1, l: [['z', 'Z']] } } })
    expect(tr.html()).toBe('<ul><li data-key="z">Z</li></ul><p>3</p>')
  })

  it('inserts, rebuilds with and updates positional items; keeps the list statics across diffs', () => {
    const tr = pos()
    tr.apply({ d: { '0': { o: [['i', 1, ['x', 'X']]] } } })
    tr.apply({ d: { '0': { o: [['u', 0, { '1': 'a!' }]] } } })
    expect(tr.html()).toBe('<ul><li data-key="a">a!</li><li data-key="x">X</li><li data-key="b">B</li></ul><p>3</p>')
    tr.apply({ d: { '0': { o: [['o', [2, ['n', 'N']]]] } } })
    expect(tr.html()).toBe('<ul><li data-key="b">B</li><li data-key="n">N</li></ul><p>3</p>')
  })

  it('takes the statics of positional items from an ops diff with s (a list that had none)', () => {
    const tr = tree({ s: 0, '0': { l: [], e: { s: 2 } }, '1': '' })
    tr.apply({ d: { '0': { s: 1, o: [['i', 0, ['a', 'A']]] } } })
    tr.apply({ d: { '0': { o: [['i', 1, ['b', 'B']]] } } })
    expect(tr.html()).toBe('<ul><li data-key="a">A</li><li data-key="b">B</li></ul><p></p>')
    // A new s holds for the items read from then on; items already there keep theirs.
    tr.apply({ d: { '0': { s: 3, o: [['i', 0, ['c']]] } } })
    expect(tr.html()).toBe('<ul><b>c</b><li data-key="a">A</li><li data-key="b">B</li></ul><p></p>')
  })

  it('renders nested positional lists inside items', () => {
    const st = { ...statics, '4': ['<ol>', '</ol>'], '5': ['<i>', '</i>'] }
    const tr = tree({ s: 4, '0': { s: 5, l: [['x'], ['y']] } }, st)
    expect(tr.html()).toBe('<ol><i>x</i><i>y</i></ol>')
  })
})

describe('changes', () => {
  const st = { ...statics, '4': ['<main><b id="n">', '</b><i>', '</i><ul id="u">', '</ul></main>'] }
  const page = () => tree({ s: 4, '0': '1', '1': 'x', '2': { s: 1, l: [['a', 'A'], ['b', 'B']] } }, st)

  it('tells the list ops of a frame that only changed list items', () => {
    const tr = page()
    const before = (tr.root!['2'] as { l: unknown[] }).l
    tr.apply({ d: { '2': { o: [['u', 1, { '1': 'B!' }], ['i', 0, ['c', 'C']], ['r', 2], ['m', 0, 1]] } } })
    const c = tr.changes!
    expect(c.slots).toEqual([])
    expect(c.lists).toHaveLength(1)
    expect(c.lists[0].path).toBe('2.')
    expect(c.lists[0].before).toBe(before)
    expect(c.lists[0].steps.map((s) => s[0] + s[1])).toEqual(['u1', 'i0', 'r2', 'm0'])
    expect(c.lists[0].steps[1][2]).toEqual({ s: 1, '0': 'c', '1': 'C' })
  })

  it('tells the id and new HTML of an element whose whole content changed', () => {
    const tr = page()
    tr.apply({ d: { '0': '2' } })
    expect(tr.changes!.slots).toEqual([{ id: 'n', tag: 'b', html: '2' }])
    expect(tr.changes!.lists).toEqual([])
  })

  it('widens a change it cannot scope to the element around its slot, or to everything', () => {
    const tr = page()
    // The list empties: its slot is the whole content of <ul id="u">.
    tr.apply({ d: { '2': { o: [['r', 0], ['r', 0]] } } })
    expect(tr.changes!.slots).toEqual([{ id: 'u', tag: 'ul', html: '' }])
    expect(tr.changes!.lists).toEqual([])
    // <i> has no id: the whole region.
    tr.apply({ d: { '1': 'y' } })
    expect(tr.changes).toBe(null)
    // A full tree: the whole region.
    tr.apply({ t: { s: 3, '0': 'x' } })
    expect(tr.changes).toBe(null)
  })

  it('scopes markup only into containers the parser reads in place, and never into <pre>', () => {
    const st2 = { ...statics, '4': ['<p id="p">', '</p><pre id="r">', '</pre><div id="d">', '</div>'] }
    const tr = tree({ s: 4, '0': 'a', '1': 'b', '2': 'c' }, st2)
    // Text into <p>: scoped. Markup into <p> (a <div> would close it in a page parse): everything.
    tr.apply({ d: { '0': 'x &amp; y' } })
    expect(tr.changes!.slots).toEqual([{ id: 'p', tag: 'p', html: 'x &amp; y' }])
    tr.apply({ d: { '0': '<div>x</div>' } })
    expect(tr.changes).toBe(null)
    // Back to text after block markup: the page holds what the parse split off; everything.
    tr.apply({ d: { '0': 'back' } })
    expect(tr.changes).toBe(null)
    // Phrasing markup stays inside a <p>: scoped.
    tr.apply({ d: { '0': 'x <em>y</em><br>' } })
    expect(tr.changes!.slots).toEqual([{ id: 'p', tag: 'p', html: 'x <em>y</em><br>' }])
    // <pre> drops a newline right after its tag in a page parse only: everything.
    tr.apply({ d: { '1': '\nb' } })
    expect(tr.changes).toBe(null)
    // Markup into <div>: scoped.
    tr.apply({ d: { '2': '<p>c</p>' } })
    expect(tr.changes!.slots).toEqual([{ id: 'd', tag: 'div', html: '<p>c</p>' }])
  })
})
