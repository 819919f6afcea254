//! The page tree as the server sent it: the statics table of this connection, the current
//! node and the nodes of the component instances, patched by full trees (`t`), diffs (`d`)
//! and component frames (`c`), and rendered back to the HTML the server would have sent
//! (docs/protocol.md, "Values" and "Diffs"). Loop items arrive as node objects or positional
//! arrays (protocol 2); both are kept as nodes, and so are a stream's items (with their DOM
//! ids). A diff also tells which lists changed and how (`Tree.changes`), so the client can
//! patch only their items' elements, or only a changed component's element.

import type { Comps, Dyn, ListOp, NodeDiff, Statics, TList, TNode, TStream } from './protocol'

export type { Dyn, ListOp, TList, TNode, TStream }

type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null

/** One list operation as applied: new items as nodes, `u` carrying the item's new node (`r`'s third member is unused). */
export type Step = ['r', number, number] | ['i', number, TNode] | ['m', number, number] | ['u', number, TNode]

/**
 * A list whose items a diff changed while its slot and every slot above it kept their node:
 * `path` names the slots from the root (`"2."`, `"1.0."` through a branch), `before` the items
 * as they were (an array the tree no longer holds: whoever reads the change may reuse it),
 * `steps` what happened to them in order. The list has items before and after.
 */
export interface ListChange {
  path: string
  before: TNode[]
  steps: Step[]
}

/**
 * A slot that is the whole content of an element with a static id (`<b id="n">{{ n }}</b>`)
 * and changed in a way no list change describes: the element's content becomes `html`.
 */
export interface SlotChange {
  id: string
  tag: string
  html: string
}

/**
 * What the last `apply` changed, or `null` when it cannot be told by lists, slots and
 * components (re-render all). `comps`: the HTML of each component instance whose change
 * cannot be told otherwise: its wrapper element (`<div lvt-component="id">`) becomes that.
 */
export interface Changes {
  lists: ListChange[]
  slots: SlotChange[]
  comps: string[]
}

/** Collects changes while a diff is applied; `whole` once a change cannot be scoped. */
interface Log extends Changes {
  whole: boolean
  owner(n: TNode, slot: number): [id: string, tag: string, before: string, after: string] | null
  html(d: unknown): string
}

const ATTRS: Record<string, RegExp> = {}
/**
 * The value of attribute `name` in a start tag's attribute text (`id` in ` class="a" id="b"`),
 * when it is quoted and holds no character reference (which would need decoding); else undefined.
 */
export const attr = (attrs: string, name: string): string | undefined => {
  const m = (ATTRS[name] ||= new RegExp(`\\s${name}\\s*=\\s*(?:"([^"&]*)"|'([^'&]*)')`)).exec(attrs)
  return m ? (m[1] ?? m[2]) : undefined
}
/** Elements whose content is not plain markup to morph (raw text, form values, a parser that drops a leading newline). */
const RAW = /^(script|style|textarea|title|select|option|template|pre|listing)$/i

/**
 * True when `html` set as the content of a `tag` element parses as it does in the page: text,
 * phrasing markup that never closes the element around it (no `a`, `button`, block or table
 * tags), or a container the parser reads in place.
 */
const inPlace = (tag: string, html: string): boolean =>
  /^(div|[uo]l|t(able|body|r)|section|main)$/i.test(tag) || !/<(?!\/?(em|strong|[bisuq]|span|code|small|su[bp]|mark|br|kbd)[\s/>])/i.test(html)

const bad = (m: string): never => {
  throw new Error('lvt: ' + m)
}

/**
 * A dyn as the tree keeps it: copied, every loop item a node (a positional one gets the
 * list's statics `s`), a stream's ops applied to no items, a component reference as it is.
 * `l`, `x` and `c` are checked before `s`, since lists and streams carry `s` too.
 */
function norm(d: unknown, s?: unknown): any {
  if (!isObj(d)) return d == null ? '' : String(d)
  if (Array.isArray(d)) return d.reduce((n: Obj, x, i) => ((n[i] = norm(x)), n), { s })
  if (Array.isArray(d.l)) return { l: d.l.map((x) => norm(x, d.s)), s: d.s, e: d.e === undefined ? d.e : norm(d.e) }
  if (d.x) return patchStream(0, d)
  if ('c' in d) return { c: d.c }
  const n: Obj = {}
  for (const k in d) n[k] = k === 's' ? d.s : norm(d[k])
  return n
}

/** Applies a node diff; a diff that carries `s` is a whole new node. Copies, never mutates. */
function patchNode(n: TNode, d: NodeDiff, log?: Log, path = ''): TNode {
  if ('s' in d) {
    if (log) log.whole = true
    return norm(d)
  }
  if (!isObj(n)) bad('diff for a slot that holds no node')
  const out: TNode = { ...n }
  for (const k in d) {
    // Once a change cannot be scoped, the rest of the diff is applied without logging.
    const l = log && !log.whole ? log : undefined
    const lists = l ? l.lists.length : 0
    const slots = l ? l.slots.length : 0
    const v = d[k]
    const p = path + k + '.'
    out[k] =
      !isObj(v) || 'l' in v || 'c' in v
        ? ((l && (l.whole = true)), norm(v))
        : v.x
          ? patchStream(n[k], v, l, p)
          : 'o' in v || ('e' in v && !('s' in v))
            ? patchList(n[k], v, l, p)
            : patchNode(n[k] as TNode, v, l, p)
    // A change that lists cannot describe, in a slot that is the whole content of an element
    // with an id: that element's content is re-rendered (and what was logged inside it dropped).
    // Only markup a page parse keeps inside the element (a `<div>` would close a `<p id=x>`).
    // The old content too: what a page parse split off around the element must go as well.
    const own = l && l.whole && l.owner(n, +k)
    const html = own ? own[2] + l.html(out[k]) + own[3] : ''
    if (own && inPlace(own[1], html) && inPlace(own[1], l.html(n[k]))) {
      l.whole = false
      l.lists.length = lists
      l.slots.length = slots
      l.slots.push({ id: own[0], tag: own[1], html })
    }
  }
  return out
}

function patchList(cur: unknown, d: Obj, log: Log | undefined, path: string): TList {
  const old: TList = isObj(cur) && Array.isArray(cur.l) ? (cur as unknown as TList) : { l: [] }
  const s = d.s ?? old.s
  let l = old.l.slice()
  const steps: Step[] = []
  for (const [k, a, b] of (d.o || []) as Array<[string, any, any]>) {
    const n = k === 'i' ? norm(b, s) : k === 'u' ? patchNode(l[a], b) : b
    if (k === 'r') l.splice(a, 1)
    else if (k === 'i') l.splice(a, 0, n)
    else if (k === 'm') l.splice(b, 0, l.splice(a, 1)[0])
    else if (k === 'u') l[a] = n
    else if (k === 'o') {
      // A rebuilt list is patched by the whole morph (it reorders by key).
      l = a.map((x: unknown) => (typeof x === 'number' ? l[x] : norm(x, s)))
      if (log) log.whole = true
    } else bad('unknown list op ' + k)
    steps.push([k, a, n] as Step)
  }
  if (l.some((x) => !isObj(x))) bad('list op out of range')
  const e = 'e' in d ? (isObj(d.e) && !('s' in d.e) ? patchNode(old.e as TNode, d.e) : norm(d.e)) : old.e
  // An empty list shows its else branch instead of items: not a change of items' elements.
  if (log && !log.whole)
    if (old.l.length && l.length) steps.length && log.lists.push({ path, before: old.l, steps })
    else if (old.l.length || l.length || e !== old.e) log.whole = true
  return { l, s: s as TList['s'], e }
}

/**
 * Applies a stream value's ops (and limit, kept for later values) to the stream `cur` (none in
 * a full tree), logged as list steps on the old items. Filling an empty stream, or emptying
 * it (a reset, the last item deleted) is not a list change: the log widens it to the stream's
 * element.
 */
function patchStream(cur: unknown, d: Obj, log?: Log, path = ''): TStream {
  const old: TStream = isObj(cur) && Array.isArray(cur.k) ? (cur as unknown as TStream) : { l: [], k: [] }
  const s = (d.s ?? old.s) as TStream['s']
  const n = (d.n ?? old.n) as number | undefined
  const l = old.l.slice()
  const k = old.k.slice()
  const steps: Step[] = []
  let reset = false
  const rm = (i: number) => {
    l.splice(i, 1)
    k.splice(i, 1)
    steps.push(['r', i, 0])
    // Steps through an empty list cannot find its elements' place again.
    reset ||= !l.length
  }
  for (const [op, a, id, item] of d.x as Array<[string, any, string, unknown]>) {
    let i = k.indexOf(op === 'd' ? a : id)
    if (op === 'r') {
      l.length = k.length = 0
      reset = true
    } else if (op === 'd') i < 0 || rm(i)
    else if (op === 'i') {
      const x = norm(item, s)
      if (i >= 0) steps.push(['u', i, (l[i] = x)])
      else {
        l.splice((i = a < 0 || a > l.length ? l.length : a), 0, x)
        k.splice(i, 0, id)
        steps.push(['i', i, x])
      }
    } else bad('unknown stream op ' + op)
  }
  while (n && l.length > Math.abs(n)) rm(n > 0 ? l.length - 1 : 0)
  if (log && !log.whole && (reset || steps.length))
    if (reset || !old.l.length || !l.length) log.whole = true
    else log.lists.push({ path, before: old.l, steps })
  return { l, k, s, n }
}

/** The cached tree of one connection. */
export class Tree {
  statics: Statics = {}
  root: TNode | null = null
  /** The node of each live component instance, by cid. */
  comps: Record<string, TNode> = {}
  /** What the last `apply` changed (see `Changes`); null: anything, re-render the whole region. */
  changes: Changes | null = null
  /**
   * Each node's HTML, once rendered (nodes are never mutated: a patch makes new ones); not of
   * nodes that show a component, which changes on its own.
   */
  private memo = new WeakMap<TNode, string>()
  /** Components rendered so far: a node that saw this move is not remembered. */
  private seen = 0

  /** Forgets everything: statics ids and cids are only valid within one connection. */
  reset(): void {
    this.statics = {}
    this.root = null
    this.comps = {}
    this.changes = null
    this.memo = new WeakMap()
  }

  /**
   * Applies the `s`, `t`, `d` and `c` keys of a server frame; true when the page changed. The
   * instances of `c` are patched before `d` (which may show a new one), and dropped after it.
   */
  apply(f: { s?: Statics; t?: TNode; d?: NodeDiff; c?: Comps }): boolean {
    if (f.s) Object.assign(this.statics, f.s)
    const log: Log = { lists: [], slots: [], comps: [], whole: !!f.t, owner: (n, k) => this.owner(n, k), html: (d) => this.dyn(d) }
    const c = f.c || {}
    if (f.t) {
      this.root = norm(f.t)
      this.comps = {}
    }
    for (const id in c) {
      const v = c[id]
      const cur = this.comps[id]
      if (!v) continue
      // A change inside the instance is logged as the page's are; one that cannot be told
      // as lists and slots re-renders the instance's element.
      const own: Log = { ...log, lists: [], slots: [], whole: !cur }
      this.comps[id] = cur ? patchNode(cur, v, own, 'c' + id + ':') : 's' in v ? norm(v) : bad('diff for unknown component ' + id)
      if (own.whole) log.comps.push(id)
      else log.lists.push(...own.lists), log.slots.push(...own.slots)
    }
    if (f.d) this.root = patchNode(this.root || bad('diff before the first tree'), f.d, log)
    for (const id in c) if (!c[id]) delete this.comps[id]
    log.comps = log.comps.map((id) => this.node(this.comps[id]))
    this.changes = log.whole ? null : log
    return !!(f.t || f.d || f.c)
  }

  /**
   * The id and tag of the element whose whole content is slot `k` of node `n` (and the
   * whitespace around it), when its statics say so (`…<ul id="n">\n` before the slot,
   * `\n</ul>…` after it); null otherwise.
   */
  private owner(n: TNode, k: number): [string, string, string, string] | null {
    const st = Array.isArray(n.s) ? n.s : this.statics[n.s]
    const tag = /<([a-zA-Z][^\s/>]*)([^<>]*)>(\s*)$/.exec(st[k])
    const end = tag && new RegExp('^\\s*</' + tag[1] + '>').exec(st[k + 1])
    const id = end && !RAW.test(tag[1]) && attr(tag[2], 'id')
    return id ? [id, tag[1], tag[3], end[0].slice(0, -3 - tag[1].length)] : null
  }

  /** The HTML of the whole live region. */
  html(): string {
    return this.root ? this.node(this.root) : ''
  }

  /** The HTML of one node (a loop item, say). */
  node(n: TNode): string {
    let out = this.memo.get(n)
    if (out !== undefined) return out
    const st = Array.isArray(n.s) ? n.s : this.statics[n.s]
    if (!st) bad('unknown statics id ' + n.s)
    const seen = this.seen
    out = st[0]
    for (let i = 1; i < st.length; i++) out += this.dyn(n[i - 1]) + st[i]
    if (seen === this.seen) this.memo.set(n, out)
    return out
  }

  /** The HTML of a dyn (text, node, list, stream or component). */
  dyn(d: unknown): string {
    if (!isObj(d)) return d == null ? '' : String(d)
    if ('c' in d) {
      this.seen++
      return this.node(this.comps[d.c as number] || bad('unknown component ' + d.c))
    }
    if (Array.isArray(d.l)) {
      if (!d.l.length) return this.dyn(d.e)
      let out = ''
      for (const n of d.l as TNode[]) out += this.node(n)
      return out
    }
    return this.node(d as TNode)
  }
}
