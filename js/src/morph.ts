//! Puts rebuilt HTML into the live region (or into some of its elements, for patch.ts) with
//! morphdom while keeping what the user is doing: the focused field's typed value, selection
//! and focus (never a checkbox's or radio's state, which is the server's), the drafts of
//! `lvt-form:preserve` forms, `lvt-update` containers and `lvt-fx:scroll` positions.

import morphdom from 'morphdom'
import { CLICK, DATA_KEY, has, PRESERVE, ROOT, SCROLL, UPDATE } from './constants'

// One shape for input, textarea and select: the members used here exist on all three or are guarded.
type Field = HTMLInputElement & { options: HTMLOptionsCollection; multiple: boolean }

const NOT_EDITABLE = /^(hidden|submit|button|reset|image|file)$/

/** Is this an element whose value the user edits? */
export const isField = (n: Node): n is Field => {
  const el = n as Field
  return /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName) && !NOT_EDITABLE.test(el.type)
}

/** The user-visible state of a field as one string (checkedness, selected options or value). */
export const snap = (el: Field): string =>
  el.type === 'checkbox' || el.type === 'radio'
    ? el.checked
      ? '1'
      : ''
    : el.tagName === 'SELECT'
      ? Array.from(el.options)
          .filter((o) => o.selected)
          .map((o) => o.value)
          .join('\0')
      : el.value

const restore = (el: Field, v: string): void => {
  if (snap(el) === v) return
  if (el.type === 'checkbox' || el.type === 'radio') el.checked = v === '1'
  else if (el.tagName === 'SELECT') {
    const vs = v.split('\0')
    for (const o of Array.from(el.options)) o.selected = vs.indexOf(o.value) >= 0
  } else el.value = v
}

/** What the server last rendered into each field; a field whose state differs is being edited. */
const rendered = new WeakMap<Element, string>()

/** A field's state as written in its HTML (what the server rendered, whatever the browser restored). */
const initial = (el: Field): string => {
  if (el.type === 'checkbox' || el.type === 'radio') return el.defaultChecked ? '1' : ''
  if (el.tagName !== 'SELECT') return el.defaultValue
  const all = Array.from(el.options)
  const sel = all.filter((o) => o.defaultSelected)
  return (sel.length || el.multiple ? sel : all.slice(0, 1)).map((o) => o.value).join('\0')
}

/** True when field `f` differs from what the server last rendered into it (the user is editing it). */
const changed = (f: Element): f is Field => {
  const r = rendered.get(f)
  return isField(f) && r !== undefined && snap(f) !== r
}

/** Fields the user has used (typed in, changed, submitted) since they were rendered or their form was reset. */
export const used = new WeakSet<Element>()

/**
 * True when a field of `form` the user has `used` differs from the same field in `fresh`, the
 * form as the server renders it now (after a reconnect): what a replay of the form would bring
 * back. A form the new render lacks has nothing to recover into.
 */
export const recoverable = (form: Element, fresh = form): boolean => {
  const now = within(fresh, FIELDS)
  return within(form, FIELDS).some((f, i) => used.has(f) && (!now[i] || snap(f as Field) !== initial(now[i] as Field)))
}

/** Records the server-rendered state of every field under `root` (the page as first served). */
export function recordFields(root: Element): void {
  root.querySelectorAll('input,textarea,select').forEach((el) => {
    if (isField(el)) rendered.set(el, initial(el))
  })
}

/**
 * morphdom key: `id`, or `data-key` scoped by the data-keys of its ancestors up to the nearest
 * ancestor with an id (morphdom looks keys up across the whole tree, so two lists that both
 * use data-key="1" must not share keys). The walk up stops at the live root, and at `stop` or
 * `stop2` (the parents of the two elements a scoped morph compares).
 */
export function nodeKey(n: Node, stop?: Element | null, stop2?: Element | null): string | undefined {
  if (n.nodeType !== 1) return
  const el = n as Element
  if (el.id) return '#' + el.id
  let k = el.getAttribute(DATA_KEY)
  if (k == null) return
  for (let p = el.parentElement; p && p !== stop && p !== stop2 && !p.hasAttribute(ROOT); p = p.parentElement) {
    if (p.id) return p.id + '\u0002' + k
    const pk = p.getAttribute(DATA_KEY)
    if (pk != null) k = pk + '\u0001' + k
  }
  return '\u0002' + k
}

/** Does any key occur twice under `el`? morphdom would then lose or misplace elements. */
const collides = (el: Element): boolean => {
  const seen = new Set<string>()
  return Array.from(el.querySelectorAll('[id],' + has(DATA_KEY))).some((e) => seen.size === seen.add(nodeKey(e)!).size)
}

let warned = false

const ownKey = (el: Element): string | null => el.id || el.getAttribute(DATA_KEY)

/** `lvt-update="append|prepend"`: keep the current children, update those the server resent. */
function appendOrPrepend(from: Element, to: Element, prepend: boolean): void {
  const next = new Map<string, Element>()
  for (const c of Array.from(to.children)) {
    const k = ownKey(c)
    if (k) next.set(k, c)
  }
  const kept = Array.from(from.children).map((c) => {
    const k = ownKey(c)
    const n = k != null && next.get(k)
    if (n) next.delete(k!)
    return n || c.cloneNode(true)
  })
  const fresh = Array.from(to.children).filter((c) => {
    const k = ownKey(c)
    return !k || next.has(k)
  })
  to.textContent = ''
  to.append(...(prepend ? fresh.concat(kept as Element[]) : (kept as Element[]).concat(fresh)))
}

export interface MorphOptions {
  /** The form whose submit this frame answers: its fields take the server's values, focused or not. */
  submitted?: Element | null
  /**
   * Keep every field the user edited since the server rendered it, in any form (a re-render of
   * the cached tree to undo what the browser did on its own, not new server state).
   */
  drafts?: boolean
  /** Called before morphdom updates an element from its new version (locks, hooks). */
  updating?: (from: Element, to: Element) => void
  /** Called before an element and its subtree leave the page. */
  removing?: (el: Element) => void
}

const isToggle = (el: Field): boolean => el.type === 'checkbox' || el.type === 'radio'

/** A checkbox or radio whose state an action sets (it is or is inside an `lvt-click` element). */
const clicked = (el: Element): boolean => isToggle(el as Field) && !!el.closest(has(CLICK))

const preserved = (el: Field): boolean => !!el.form && el.form.hasAttribute(PRESERVE)

const FIELDS = 'input,textarea,select'

/** `el` and its descendants that match `sel`. */
export const within = (el: Element, sel: string): Element[] => {
  const all = Array.from(el.querySelectorAll(sel))
  return el.matches(sel) ? [el].concat(all) : all
}

/**
 * One update of the live region (`update` makes it): records what the user is doing (focus,
 * caret, drafts, `lvt-fx:scroll` positions) before elements change, morphs them, and puts it
 * all back in `finish`. The whole region (`morph`) or only some of its elements (`patch.ts`)
 * may change: `watch` each element before it morphs, `added` each new one.
 */
export interface Update {
  readonly o: MorphOptions
  /** Records the drafts and scroll positions in `el` (and its subtree) before it changes. */
  watch(el: Element): void
  /** Records the position of one `lvt-fx:scroll` element (a list's container, say). */
  scrolled(el: Element): void
  /** A new element entered the page: its fields start as rendered, its scroll rules apply. */
  added(el: Element): void
  /**
   * Morphs `from` into `to` (a detached element: the region's new copy with `children`, or a
   * list item's new version), keeping the user's state and calling the options' callbacks.
   */
  morph(from: Element, to: Element, children?: boolean): void
  /** Puts the user's state back: values, focus, caret, then the `lvt-fx:scroll` rules. */
  finish(): void
}

/** Starts an update of `root`; with `all`, `lvt-fx:scroll` rules run for the whole region. */
export function update(root: HTMLElement, o: MorphOptions, all = false): Update {
  const doc = root.ownerDocument
  const kept = new Map<Element, string>()
  const scroll = new Map<Element, [number, boolean] | undefined>()
  const keep = (el: Field) => {
    if (!(o.submitted && el.form === o.submitted) && !clicked(el)) kept.set(el, snap(el))
  }
  const a = doc.activeElement as Field | null
  const active = a && root.contains(a) ? a : null
  let sel: [number | null, number | null] | undefined
  // The focused field keeps only what the user is typing: checkedness and a select's choice
  // are the server's (outside lvt-form:preserve forms).
  if (active && isField(active) && !isToggle(active) && (active.tagName !== 'SELECT' || preserved(active))) keep(active)
  try {
    if (active && kept.has(active)) sel = [active.selectionStart, active.selectionEnd]
  } catch {
    /* this input type has no selection */
  }
  const scrolled = (el: Element) => {
    if (!scroll.has(el)) scroll.set(el, [el.scrollTop, el.scrollTop + el.clientHeight >= el.scrollHeight - 2])
  }
  return {
    o,
    scrolled,
    watch(el) {
      for (const f of within(el, FIELDS)) if (changed(f) && (o.drafts || preserved(f))) keep(f)
      within(el, has(SCROLL)).forEach(scrolled)
    },
    added(el) {
      for (const f of within(el, FIELDS)) if (isField(f)) rendered.set(f, snap(f))
      for (const s of within(el, has(SCROLL))) if (!scroll.has(s)) scroll.set(s, undefined)
    },
    morph(from, to, children = false) {
      // Keys that collide would corrupt the result: morph by position instead (still exact).
      const keyed = !collides(from) && !collides(to)
      if (!keyed && !warned) {
        warned = true
        console.warn('lvt: duplicate id or data-key in one list scope; give each list container an id')
      }
      const a = children ? null : from.parentElement
      const b = children ? null : to.parentElement
      morphdom(from, to, {
        childrenOnly: children,
        getNodeKey: keyed ? (n) => nodeKey(n, a, b) : () => undefined,
        onBeforeElUpdated(from, to) {
          o.updating?.(from, to)
          if (isField(to)) {
            rendered.set(from, snap(to))
            const v = kept.get(from)
            // Give the new version the user's state so morphdom leaves value and caret alone.
            if (v !== undefined) restore(to, v)
          }
          const mode = to.getAttribute(UPDATE)
          if (mode === 'append' || mode === 'prepend') appendOrPrepend(from, to, mode === 'prepend')
          return true
        },
        onBeforeElChildrenUpdated: (from) => from.getAttribute(UPDATE) !== 'ignore',
        onNodeAdded(n) {
          if (isField(n)) rendered.set(n as Element, snap(n))
          return n
        },
        onBeforeNodeDiscarded(n) {
          if (n.nodeType === 1) o.removing?.(n as Element)
          return true
        },
      })
    },
    finish() {
      // A submitted form the update did not touch (only a list or an id'd element changed) shows
      // what the server rendered, as a whole morph would: the chat input clears after sending.
      if (o.submitted)
        for (const f of within(o.submitted, FIELDS)) {
          const r = rendered.get(f)
          if (isField(f) && r !== undefined) restore(f, r)
        }
      // morphdom may have reset a select or moved (and so blurred) a field: put the user's state back.
      kept.forEach((v, el) => el.isConnected && restore(el as Field, v))
      if (active && active.isConnected && doc.activeElement !== active) active.focus()
      if (sel && active!.isConnected && (active!.selectionStart !== sel[0] || active!.selectionEnd !== sel[1]))
        active!.setSelectionRange(sel[0], sel[1])
      if (all) root.querySelectorAll(has(SCROLL)).forEach((el) => scroll.has(el) || scroll.set(el, undefined))
      scroll.forEach((was, el) => {
        if (!el.isConnected) return
        const mode = el.getAttribute(SCROLL)
        if (mode === 'top') el.scrollTop = 0
        else if (mode === 'preserve') {
          if (was) el.scrollTop = was[0]
        } else if (mode === 'bottom' || (mode === 'bottom-sticky' && (!was || was[1]))) el.scrollTop = el.scrollHeight
      })
    },
  }
}

/** Morphs the children of `root` into `html`. */
export function morph(root: HTMLElement, html: string, o: MorphOptions = {}): void {
  const u = update(root, o, true)
  u.watch(root)
  const to = root.cloneNode(false) as HTMLElement
  to.innerHTML = html
  u.morph(root, to, true)
  u.finish()
}
