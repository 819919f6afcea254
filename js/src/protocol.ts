//! The wire format (docs/protocol.md): the values of a page tree and their diffs, the frames
//! each side sends, and `decode`, which checks a server frame's shape and tags it with its
//! kind before the client acts on it.

import type { CLIENT_KEYS, SERVER_KEYS } from './constants'

/** A template node: statics id `s` (or the statics themselves) plus dynamic slots `"0"`, `"1"`, … */
export interface TNode {
  s: string | number | string[]
  [slot: string]: unknown
}

/**
 * A `for` loop: its items, the statics id `s` of its positional items and the optional else
 * branch. On the wire an item is a node or (protocol 2) the array of its dyns in slot order,
 * rendered with the list's `s`; the client's tree keeps every item as a node.
 */
export interface TList {
  l: TNode[]
  s?: string | number
  e?: TNode | string
}

/** A loop item on the wire: a node, or its dyns in slot order (statics: the list's `s`). */
export type TItem = TNode | Dyn[]

/**
 * A stream's operation: `["r"]` remove every item, `["d", domId]` delete the item with that DOM
 * id, `["i", at, domId, item]` insert at index `at` (`-1`: append; clamped), or replace in place
 * the item with that DOM id.
 */
export type StreamOp = ['r'] | ['d', string] | ['i', number, string, TItem]

/**
 * A stream slot on the wire: ops applied in order to the client's items (in a full tree: to
 * none), `s` the statics of positional items, `n` the limit (kept; positive: the first n items
 * stay, negative: the last -n) applied after the ops.
 */
export interface TStreamValue {
  s?: string | number
  x: StreamOp[]
  n?: number
}

/**
 * A stream as the client keeps it: its items as nodes (`l`, rendered like a list's), their DOM
 * ids (`k`, same order), the statics of positional items and the limit.
 */
export interface TStream {
  l: TNode[]
  k: string[]
  s?: string | number
  n?: number
}

/** A slot holding component instance `c` (its node is in the frames' `c` key). */
export interface TComp {
  c: number
}

/** A dynamic slot's value: text, a branch's node, a loop, a stream or a component instance. */
export type Dyn = string | TNode | TList | TStream | TComp

/** A node diff: `{"<slot>": <dyn diff>, …}`, or a whole new node when it has `s`. */
export type NodeDiff = Record<string, unknown>

/** One list operation of a `{"o": [...], "s"?: id}` dyn diff (`s`: the statics of positional items from then on). */
export type ListOp =
  | ['r', number]
  | ['i', number, TItem]
  | ['m', number, number]
  | ['u', number, NodeDiff]
  | ['o', Array<number | TItem>]

/** The statics table: `{"<id>": ["lit0", "lit1", …]}`. */
export type Statics = Record<string, string[]>

/** A `ctx.push_event`: its name and payload. */
export type PushedEvent = [name: string, payload: unknown]

/**
 * The component instances a frame changes, by cid: a full node (new, or sent whole), a node
 * diff, or `null` (gone). With `t`: every live instance, whole.
 */
export type Comps = Record<string, TNode | NodeDiff | null>

/** What a frame may carry besides its kind: page content, events and navigation. */
interface Content {
  s?: Statics
  t?: TNode
  d?: NodeDiff
  c?: Comps
  events?: PushedEvent[]
  patch?: string
  redirect?: string
  /** The page was swapped for the one at this URL (on a frame with its whole tree). */
  navigate?: string
  title?: string
  /** The group's flash, message by kind: the whole map. */
  flash?: Record<string, string>
}

/** The first frame of a connection: protocol version, statics and the full tree. */
export interface HelloFrame extends Content {
  kind: 'hello'
  v: number
  t: TNode
  r?: number
  e?: undefined
}

/** The answer to client message `r`: whatever changed (maybe nothing). */
export interface ReplyFrame extends Content {
  kind: 'reply'
  r: number
  e?: undefined
}

/** An action or a frame failed: `e` says why; `r` is missing when no ref could be read. */
export interface ErrorFrame extends Content {
  kind: 'error'
  r?: number
  e: string
}

/** What changed because of another connection or task (`trigger_action`, a publish, presence). */
export interface PushFrame extends Content {
  kind: 'push'
  r?: undefined
  e?: undefined
}

/** The answer to a heartbeat. */
export interface HeartbeatFrame {
  kind: 'heartbeat'
  h: 1
}

/** A server frame, tagged by `decode` with its kind. */
export type ServerFrame = HelloFrame | ReplyFrame | ErrorFrame | PushFrame | HeartbeatFrame

/** Run action `a` with data `d` on component instance `t` (else the page); `r` comes back on the reply. */
export interface ActionFrame {
  a: string
  d?: Record<string, unknown>
  r: number
  t?: string
}

/** The page's URL changed without a load: the server runs `handle_params` for `p`. */
export interface ParamsFrame {
  p: string
  r: number
}

/** Go to another page of the app on this connection (`lvt-navigate`, back, forward). */
export interface NavigateFrame {
  n: string
  r: number
}

/** A heartbeat. */
export interface PingFrame {
  h: 1
}

/** A client frame. */
export type ClientFrame = ActionFrame | ParamsFrame | NavigateFrame | PingFrame

// The frame types and the key lists of constants.ts name the same keys: tsc fails otherwise.
type Keys<T> = T extends unknown ? keyof T : never
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
type Assert<T extends true> = T
/** Compile-time check: the server frame types use exactly `SERVER_KEYS`. */
export type ServerKeysMatch = Assert<Same<Exclude<Keys<ServerFrame>, 'kind'>, (typeof SERVER_KEYS)[number]>>
/** Compile-time check: the client frame types use exactly `CLIENT_KEYS`. */
export type ClientKeysMatch = Assert<Same<Keys<ClientFrame>, (typeof CLIENT_KEYS)[number]>>

const bad = (key: string): never => {
  throw new Error('lvt: malformed server frame: ' + key)
}

const is = (v: unknown, type: string): boolean => v === undefined || typeof v === type

/**
 * Checks the types of a parsed server frame's keys and tags it with its kind (in place;
 * unknown keys are kept and ignored). Throws on a frame that is not an object or has a key of
 * the wrong type.
 *
 * ```ts
 * decode(JSON.parse('{"r":1,"d":{"0":"1"}}')) // { kind: 'reply', r: 1, d: { '0': '1' } }
 * ```
 */
export function decode(raw: unknown): ServerFrame {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return bad('not an object')
  const f = raw as Record<string, unknown>
  if (f.h != null) return { kind: 'heartbeat', h: 1 }
  for (const k of ['v', 'r']) if (!is(f[k], 'number')) bad(k)
  for (const k of ['e', 'patch', 'redirect', 'navigate', 'title']) if (!is(f[k], 'string')) bad(k)
  for (const k of ['s', 't', 'd', 'c', 'flash']) if (!is(f[k], 'object') || f[k] === null) bad(k)
  const ev = f.events
  if (ev !== undefined && !(Array.isArray(ev) && ev.every((x) => Array.isArray(x) && typeof x[0] === 'string'))) bad('events')
  f.kind = f.e != null ? 'error' : f.v != null ? 'hello' : f.r != null ? 'reply' : 'push'
  if (f.kind === 'hello' && !f.t) bad('t')
  // Every key the frame types name has been checked above.
  return f as unknown as ServerFrame
}
