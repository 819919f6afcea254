//! The page tree as the server sent it: the statics table of this connection and the current
//! node, patched by full trees (`t`) and diffs (`d`), and rendered back to the HTML the server
//! would have sent (docs/protocol.md, "Values" and "Diffs"). Loop items arrive as node objects
//! or positional arrays (protocol 2); both are kept as nodes. A diff also tells which lists
//! changed and how (`Tree.changes`), so the client can patch only their items' elements.

import type { Dyn, ListOp, NodeDiff, Statics, TList, TNode } from './protocol'

export type { Dyn, ListOp, TList, TNode }

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

/** What the last `apply` changed, or `null` when it cannot be told by lists and slots (re-render all). */
export interface Changes {
  lists: ListChange[]
  slots: SlotChange[]
}

/** Collects changes while a diff is applied; `whole` once a change cannot be scoped. */
interface Log extends Changes {
  whole: boolean
  owner(n: TNode, slot: number): [id: string, tag: string] | null
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
 * list's statics `s`). `l` is checked before `s`, since lists carry `s` too.
 */
function norm(d: unknown, s?: unknown): any {
  if (!isObj(d)) return d == null ? '' : String(d)
  if (Array.isArray(d)) return d.reduce((n: Obj, x, i) => ((n[i] = norm(x)), n), { s })
  if (Array.isArray(d.l)) return { l: d.l.map((x) => norm(x, d.s)), s: d.s, e: d.e === undefined ? d.e : norm(d.e) }
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
      !isObj(v) || 'l' in v
        ? ((l && (l.whole = true)), norm(v))
        : 'o' in v || ('e' in v && !('s' in v))
          ? patchList(n[k], v, l, p)
          : patchNode(n[k] as TNode, v, l, p)
    // A change that lists cannot describe, in a slot that is the whole content of an element
    // with an id: that element's content is re-rendered (and what was logged inside it dropped).
    // Only markup a page parse keeps inside the element (a `<div>` would close a `<p id=x>`).
    // The old content too: what a page parse split off around the element must go as well.
    const own = l && l.whole && l.owner(n, +k)
    const html = own ? l.html(out[k]) : ''
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

/** The cached tree of one connection. */
export class Tree {
  statics: Statics = {}
  root: TNode | null = null
  /** What the last `apply` changed (see `Changes`); null: anything, re-render the whole region. */
  changes: Changes | null = null
  /** Each node's HTML, once rendered (nodes are never mutated: a patch makes new ones). */
  private memo = new WeakMap<TNode, string>()

  /** Forgets everything: statics ids are only valid within one connection. */
  reset(): void {
    this.statics = {}
    this.root = null
    this.changes = null
    this.memo = new WeakMap()
  }

  /** Applies the `s`, `t` and `d` keys of a server frame; true when the page changed. */
  apply(f: { s?: Statics; t?: TNode; d?: NodeDiff }): boolean {
    if (f.s) Object.assign(this.statics, f.s)
    this.changes = null
    if (f.t) this.root = norm(f.t)
    if (f.d) {
      const log: Log = { lists: [], slots: [], whole: !!f.t, owner: (n, k) => this.owner(n, k), html: (d) => this.dyn(d) }
      this.root = patchNode(this.root || bad('diff before the first tree'), f.d, log)
      if (!log.whole) this.changes = log
    }
    return !!(f.t || f.d)
  }

  /**
   * The id and tag of the element whose whole content is slot `k` of node `n`, when its
   * statics say so (`…<b id="n">` before the slot, `</b>…` after it); null otherwise.
   */
  private owner(n: TNode, k: number): [string, string] | null {
    const st = Array.isArray(n.s) ? n.s : this.statics[n.s]
    const a = st[k]
    const tag = /<([a-zA-Z][^\s/>]*)([^<>]*)>$/.exec(a)
    if (!tag || RAW.test(tag[1]) || st[k + 1].indexOf('</' + tag[1] + '>') !== 0) return null
    const id = attr(tag[2], 'id')
    return id ? [id, tag[1]] : null
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
    out = st[0]
    for (let i = 1; i < st.length; i++) out += this.dyn(n[i - 1]) + st[i]
    this.memo.set(n, out)
    return out
  }

  /** The HTML of a dyn (text, node or list). */
  dyn(d: unknown): string {
    if (!isObj(d)) return d == null ? '' : String(d)
    if (Array.isArray(d.l)) {
      if (!d.l.length) return this.dyn(d.e)
      let out = ''
      for (const n of d.l as TNode[]) out += this.node(n)
      return out
    }
    return this.node(d as TNode)
  }
}
