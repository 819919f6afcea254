//! Applies a frame's changes (`Tree.changes`) to the elements they concern instead of morphing
//! the whole region. A list's items: a changed item is morphed in its own element, a new one
//! parsed and inserted, a removed or moved one taken out or moved, with the text between items
//! as the whole render has it. That needs every item the steps touch (and its neighbours) to
//! render as one element with a key (`id` or `data-key`) and the whitespace around it that the
//! list's first item has, the list's elements to sit as a run of siblings in one container
//! (found by the first item's key, remembered per list, checked against the tree at every step),
//! and no `lvt-update` mode above them. A slot that is the whole content of an element with an
//! `id`: that element's children are morphed. A component instance whose change is neither:
//! its wrapper element (`[lvt-component="id"]`) is morphed (after the lists and slots, which
//! may be inside it). Anything else returns `null` and the caller morphs the whole region,
//! which also repairs whatever was patched before the check failed.

import { COMPONENT, DATA_KEY, SCROLL, UPDATE } from './constants'
import type { Update } from './morph'
import { attr, type Changes, type ListChange, type TNode } from './tree'

/** Where a list's items are: their container and the index of the first item's element. */
interface Place {
  box: Element
  at: number
}

/** What scoped patching needs of the tree: each item's HTML. */
export interface Render {
  node(n: TNode): string
}

/** Where each list (by its slot path) was last found; checked before every use. */
export type Places = Map<string, Place>

/** The attribute text of the start tag `html` begins with. */
const START = /^\s*<[a-zA-Z][^\s/>]*([^>]*)/

/**
 * The key the element of an item's `html` will have, as `ownKey` reads it from the DOM: `#id`,
 * else `=data-key`; null without one (or with a character reference, which would need decoding).
 */
function keyOf(html: string): string | null {
  const a = START.exec(html)?.[1] ?? ''
  const id = attr(a, 'id')
  const k = attr(a, DATA_KEY)
  return id ? '#' + id : k != null ? '=' + k : null
}

/** An element's key: `#id`, else `=data-key`. */
const ownKey = (el: Element | undefined): string | null => {
  const k = el && el.getAttribute(DATA_KEY)
  return !el ? null : el.id ? '#' + el.id : k == null ? null : '=' + k
}

/** Thrown when a change cannot be scoped: the caller morphs the whole region. */
const STOP = {}
const fail = (): never => {
  throw STOP
}

/**
 * Applies `changes` to their items' elements under `root`, calling `u`'s morph and hooks.
 * Returns the elements it morphed or inserted (for hooks and error messages), or `null` when
 * a change cannot be scoped.
 */
export function patch(root: HTMLElement, changes: Changes, tree: Render, u: Update, places: Places): Element[] | null {
  const touched: Element[] = []
  try {
    for (const c of changes.slots) {
      const el = root.ownerDocument.getElementById(c.id)
      if (!el || el === root || !root.contains(el) || el.tagName.toLowerCase() !== c.tag.toLowerCase()) fail()
      modes(root, el!, u)
      const to = el!.cloneNode(false) as Element
      to.innerHTML = c.html
      u.watch(el!)
      u.morph(el!, to, true)
      touched.push(el!)
    }
    for (const c of changes.lists) patchList(root, c, tree, u, places, touched)
    for (const html of changes.comps) {
      // The instance's id as the wrapper's start tag writes it (HTML-escaped), decoded.
      const dec = root.ownerDocument.createElement('textarea')
      dec.innerHTML = (START.exec(html)?.[0] ?? '').split(COMPONENT + '="')[1]?.split('"')[0] ?? fail()
      const id = dec.value
      const el = Array.from(root.querySelectorAll(`[${COMPONENT}]`)).find((e) => e.getAttribute(COMPONENT) === id)
      if (!el) fail()
      modes(root, el!, u)
      // Parsed where it sits: one element, the instance's.
      const tmp = el!.parentElement!.cloneNode(false) as Element
      tmp.innerHTML = html
      const to = tmp.firstChild as Element
      if (tmp.childNodes.length !== 1 || to.getAttribute?.(COMPONENT) !== id) fail()
      u.watch(el!)
      u.morph(el!, to)
      touched.push(el!)
    }
  } catch (e) {
    if (e !== STOP) throw e
    return null
  }
  return touched
}

/** Where the list is: remembered, else found by its first item's key; `fits` checks a guess. */
function find(root: HTMLElement, c: ListChange, key: string, fits: (p: Place) => boolean, places: Places): Place {
  const p = places.get(c.path)
  if (p && p.box.isConnected && fits(p)) return p
  let els: Element[] = []
  if (key[0] === '#') {
    const el = root.ownerDocument.getElementById(key.slice(1))
    if (el && el !== root && root.contains(el)) els = [el]
  } else
    try {
      els = Array.from(root.querySelectorAll(`[${DATA_KEY}="${key.slice(1).replace(/["\\]/g, '\\$&')}"]`))
    } catch {
      /* a key no selector can name */
    }
  // Another list may use the same keys: the one whose elements line up with this list's is it.
  const found = els
    .map((el) => {
      let at = 0
      for (let s = el.previousElementSibling; s; s = s.previousElementSibling) at++
      return { box: el.parentElement!, at }
    })
    .filter(fits)
  if (found.length !== 1) fail()
  places.set(c.path, found[0])
  return found[0]
}

/**
 * Fails on an lvt-update mode (append, prepend, ignore) from `el` up to the root: the whole
 * morph applies it. Records the `lvt-fx:scroll` elements on the way (a chat log's container):
 * their rule runs after the patch.
 */
function modes(root: HTMLElement, el: Element, u: Update): void {
  for (let a: Element | null = el; a && a !== root; a = a.parentElement) {
    const mode = a.getAttribute(UPDATE)
    if (mode != null && mode !== 'replace') fail()
    if (a.hasAttribute(SCROLL)) u.scrolled(a)
  }
}

function patchList(root: HTMLElement, c: ListChange, tree: Render, u: Update, places: Places, touched: Element[]): void {
  // The old items array is the tree's no more: it follows the steps in place.
  const items = c.before
  const html = (n: TNode) => tree.node(n)
  const key = (n: TNode) => keyOf(html(n)) ?? fail()
  const n = items.length
  const ends = (p: Place) => ownKey(p.box.children[p.at]) === key(items[0]) && ownKey(p.box.children[p.at + n - 1]) === key(items[n - 1])
  const { box, at } = find(root, c, key(items[0]), ends, places)
  const kids = box.children
  modes(root, box, u)
  // Every item the steps touch, and its neighbours, must have the whitespace around its element
  // that the first one has (one loop body): then the text between two elements is always
  // `gap`, and the text before the first and after the last (the statics around) never moves.
  const h0 = html(items[0])
  const lead = /^\s*/.exec(h0)![0]
  const trail = /\s*$/.exec(h0)![0]
  const gap = trail + lead
  const same = (n: TNode | undefined) => {
    const h = n && html(n)
    if (h && (!h.startsWith(lead) || !h.endsWith(trail) || !/\S\S/.test(h[lead.length] + h[h.length - trail.length - 1]))) fail()
  }
  // The items' elements, read once: a long list's children are slow to index after each change.
  const els = Array.from(kids).slice(at, at + n)
  /** The element of item `i`, checked against the item's key and whitespace (and its neighbours'). */
  const el = (i: number): Element => {
    const e = els[i]
    same(items[i - 1])
    same(items[i])
    same(items[i + 1])
    return e && ownKey(e) === key(items[i]) ? e : fail()
  }
  el(items.length - 1)
  /** Removes the text nodes next to `e` (after it, or before it with `back`). */
  const strip = (e: Element, back: boolean) => {
    for (let t; (t = back ? e.previousSibling : e.nextSibling) && t.nodeType === 3; ) t.remove()
  }
  const take = (i: number): Element => {
    const e = el(i)
    if (items.length === 1) fail()
    // With the gap after it, or before it when it is the last.
    strip(e, i === items.length - 1)
    e.remove()
    items.splice(i, 1)
    els.splice(i, 1)
    return e
  }
  const put = (i: number, e: Element, node: TNode) => {
    const g = gap ? [gap] : []
    // Before the element now at `i`, with a gap after it; or after the last, with a gap before it.
    if (i < items.length) box.insertBefore(e, el(i)).after(...g)
    else el(i - 1).after(...g, e)
    items.splice(i, 0, node)
    els.splice(i, 0, e)
  }
  /** The element `node` renders to, parsed in the container's context. */
  const tmp = box.cloneNode(false) as Element
  const parse = (node: TNode): Element => {
    const h = html(node)
    same(node)
    tmp.innerHTML = h
    const e = tmp.firstElementChild
    return e && tmp.childElementCount === 1 && tmp.childNodes.length === 1 + +!!lead + +!!trail && ownKey(e) === keyOf(h) ? e : fail()
  }

  for (const s of c.steps) {
    if (s[0] === 'r') {
      u.o.removing?.(el(s[1]))
      take(s[1])
    } else if (s[0] === 'i') {
      const e = parse(s[2])
      put(s[1], e, s[2])
      u.added(e)
      touched.push(e)
    } else if (s[0] === 'm') {
      const node = items[s[1]]
      put(s[2], take(s[1]), node)
    } else {
      const e = el(s[1])
      const to = parse(s[2])
      // Another tag would be a new element (morphdom replaces it): not this item's any more.
      if (to.tagName !== e.tagName) fail()
      u.watch(e)
      u.morph(e, to)
      items[s[1]] = s[2]
      touched.push(e)
    }
  }
}
