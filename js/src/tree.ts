//! The page tree as the server sent it: the statics table of this connection and the current
//! node, patched by full trees (`t`) and diffs (`d`), and rendered back to the HTML the server
//! would have sent (docs/protocol.md, "Values" and "Diffs").

import type { Dyn, ListOp, NodeDiff, Statics, TList, TNode } from './protocol'

export type { Dyn, ListOp, TList, TNode }

type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null

/** Applies a node diff; a diff that carries `s` is a whole new node. Copies, never mutates. */
function patchNode(n: TNode, d: NodeDiff): TNode {
  if ('s' in d) return d as TNode
  if (!isObj(n)) throw new Error('lvt: diff for a slot that holds no node')
  const out: TNode = { ...n }
  for (const k in d) out[k] = patchDyn(n[k], d[k])
  return out
}

function patchDyn(cur: unknown, d: unknown): Dyn {
  if (!isObj(d)) return d == null ? '' : String(d)
  if ('s' in d || 'l' in d) return d as Dyn
  if ('o' in d || 'e' in d) {
    const old: TList = isObj(cur) && Array.isArray(cur.l) ? (cur as unknown as TList) : { l: [] }
    let l = old.l.slice()
    for (const [k, a, b] of (d.o || []) as ListOp[]) {
      if (k === 'r') l.splice(a as number, 1)
      else if (k === 'i') l.splice(a as number, 0, b as TNode)
      else if (k === 'm') l.splice(b as number, 0, l.splice(a as number, 1)[0])
      else if (k === 'u') l[a as number] = patchNode(l[a as number], b as Obj)
      else if (k === 'o') {
        const prev = l
        l = (a as Array<number | TNode>).map((x) => (typeof x === 'number' ? prev[x] : x))
      } else throw new Error('lvt: unknown list op ' + k)
    }
    if (l.some((x) => !isObj(x))) throw new Error('lvt: list op out of range')
    const list: TList = { l }
    const e = 'e' in d ? (isObj(d.e) && !('s' in d.e) ? patchNode(old.e as TNode, d.e) : (d.e as TNode | string)) : old.e
    if (e !== undefined) list.e = e
    return list
  }
  return patchNode(cur as TNode, d)
}

/** The cached tree of one connection. */
export class Tree {
  statics: Statics = {}
  root: TNode | null = null

  /** Forgets everything: statics ids are only valid within one connection. */
  reset(): void {
    this.statics = {}
    this.root = null
  }

  /** Applies the `s`, `t` and `d` keys of a server frame; true when the page changed. */
  apply(f: { s?: Statics; t?: TNode; d?: NodeDiff }): boolean {
    if (f.s) Object.assign(this.statics, f.s)
    if (f.t) this.root = f.t
    if (f.d) {
      if (!this.root) throw new Error('lvt: diff before the first tree')
      this.root = patchNode(this.root, f.d)
    }
    return !!(f.t || f.d)
  }

  /** The HTML of the whole live region. */
  html(): string {
    return this.root ? this.node(this.root) : ''
  }

  private node(n: TNode): string {
    const st = Array.isArray(n.s) ? n.s : this.statics[n.s]
    if (!st) throw new Error('lvt: unknown statics id ' + n.s)
    let out = st[0]
    for (let i = 1; i < st.length; i++) out += this.dyn(n[i - 1]) + st[i]
    return out
  }

  private dyn(d: unknown): string {
    if (!isObj(d)) return d == null ? '' : String(d)
    if (Array.isArray(d.l)) return d.l.length ? d.l.map((n: TNode) => this.node(n)).join('') : this.dyn(d.e)
    return this.node(d as TNode)
  }
}
