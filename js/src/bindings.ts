//! DOM events to server actions: POST forms and `lvt-*` bindings, delegated on the live root,
//! with `lvt-debounce` / `lvt-throttle` rate limits.

import {
  CHANGE,
  CLICK,
  COMPONENT,
  DEBOUNCE,
  DISABLE_WITH,
  EVENT_PREFIX,
  KEY,
  SUBMIT,
  TARGET,
  THROTTLE,
  UNUSED,
  VALUE_PREFIX,
  WINDOW_PREFIX,
  has as sel,
} from './constants'
import { isField, snap, used } from './morph'

export type Data = Record<string, string | string[]>

/** What the bindings need of the client. */
export interface Pusher {
  readonly open: boolean
  /** Connections that opened so far: once one has, a click or submit never leaves the page. */
  readonly opened: number
  /** Sends an action; `ev` names the loading class (`lvt-<ev>-loading`) put on `els`. */
  push(action: string, data: Data, els: Array<Element | null | undefined>, ev: string, extra?: { form?: Element; undo?: () => void }): number
  /** Labels of `lvt-form:disable-with` buttons while their submit is in flight. */
  readonly disabled: Map<Element, [string, boolean]>
  /** A binding of `el` fired while not connected: action `a` was not sent. */
  dropped(a: string, el: Element): void
}

const has = {}.hasOwnProperty

const add = (d: Data, k: string, v: string) => {
  d[k] = has.call(d, k) ? ([] as string[]).concat(d[k], v) : v
}


/**
 * A form's fields as an object of strings; a name given more than once maps to an array. (A
 * name ending in `[]` is sent as it is: the server makes it an array under the name without
 * `[]`, even for one value.) With `unused`, plus `_unused_<name>: ""` for each field the user
 * has not used yet.
 */
export function formData(form: HTMLFormElement, unused?: boolean): Data {
  const d: Data = {}
  new FormData(form).forEach((v, k) => {
    if (typeof v === 'string') add(d, k, v)
  })
  // Phoenix's used-input rule: `_unused_<name>` for each field no one of that name was used.
  const els = Array.from(form.elements) as HTMLInputElement[]
  if (unused)
    for (const f of els) if (isField(f) && f.name && !els.some((o) => o.name === f.name && used.has(o))) d[UNUSED + f.name] = ''
  return d
}

/** The `lvt-value-<name>` attributes of an element (names are lower case, as HTML makes them). */
export function values(el: Element): Data {
  const d: Data = {}
  for (const a of Array.from(el.attributes)) if (a.name.indexOf(VALUE_PREFIX) === 0) d[a.name.slice(VALUE_PREFIX.length)] = a.value
  return d
}

/**
 * The component instance an event of `el` goes to: the nearest `lvt-target` on it or an
 * ancestor, or the nearest instance's wrapper around it (`lvt-component`), whichever is
 * closer; undefined for the page (`lvt-target="page"`, or neither).
 */
export function target(el?: Element | null): string | undefined {
  const a = el && el.closest(`[${TARGET}],[${COMPONENT}]`)
  const t = a && (a.getAttribute(TARGET) ?? a.getAttribute(COMPONENT))
  return t && t !== 'page' ? t : undefined
}

/** A button's label: the `value` of an `<input>`, the HTML of a `<button>`; sets it when `v` is given. */
export function label(el: Element, v?: string): string {
  const input = el.tagName === 'INPUT'
  if (v != null) input ? el.setAttribute('value', v) : (el.innerHTML = v)
  return input ? el.getAttribute('value') || '' : el.innerHTML
}

interface Slot {
  t?: ReturnType<typeof setTimeout>
  f?: () => void
}

const slots = new WeakMap<Element, Record<string, Slot>>()

const ms = (v: string | null) => {
  const n = parseInt(v || '', 10)
  return n >= 0 ? n : 300
}

const run = (s: Slot) => {
  const f = s.f
  clearTimeout(s.t)
  s.f = s.t = undefined
  f?.()
}

/**
 * Fires now or later per `lvt-debounce` / `lvt-throttle` on the first of `els` that has one.
 * Debounce: fire `ms` after the last event, or on blur with "blur". Throttle: fire at once,
 * then at most once per `ms`, the last event of a window firing when the window ends.
 */
export function limit(els: Array<Element | null | undefined>, kind: string, fire: () => void): void {
  const h = els.find((e) => e && (e.hasAttribute(DEBOUNCE) || e.hasAttribute(THROTTLE)))
  if (!h) return fire()
  let all = slots.get(h)
  if (!all) slots.set(h, (all = {}))
  const s = all[kind] || (all[kind] = {})
  const deb = h.getAttribute(DEBOUNCE)
  if (deb != null) {
    clearTimeout(s.t)
    s.f = fire
    s.t = deb === 'blur' ? undefined : setTimeout(() => run(s), ms(deb))
  } else if (s.t) {
    s.f = fire
  } else {
    fire()
    const wait = ms(h.getAttribute(THROTTLE))
    const tick = () => {
      const f = s.f
      s.f = undefined
      s.t = f ? setTimeout(tick, wait) : undefined
      f?.()
    }
    s.t = setTimeout(tick, wait)
  }
}

/** Runs (or with `drop`, forgets) the events an element is holding back. */
export function flush(el: Element | null | undefined, drop?: boolean): void {
  const all = el && slots.get(el)
  if (all)
    for (const k in all) {
      if (drop) all[k].f = undefined
      run(all[k])
    }
}

type Target = HTMLElement & { form?: HTMLFormElement | null; value?: unknown }

/** Installs the event listeners of the live region `root`. */
export function bind(root: HTMLElement, c: Pusher): void {
  const win = root.ownerDocument.defaultView!
  const on = (t: string, f: (e: any) => void, el: EventTarget = root, capture = false) => el.addEventListener(t, f, capture)
  const within = (e: Event, sel: string): Target | null => {
    const el = (e.target as Element).closest?.(sel) as Target | null
    return el && root.contains(el) ? el : null
  }
  const send = (el: Element, attr: string, ev: string, d: Data) => {
    const a = el.getAttribute(attr)!
    // Not connected (now, or when a rate limit fires): the action is dropped, not queued.
    if (!c.open) return c.dropped(a, el)
    limit([el], ev, () => c.push(a, d, [el], ev) || c.dropped(a, el))
  }
  // The data of an event on an element: its lvt-value-* plus the value of a field.
  const data = (el: Target, d: Data = {}): Data => {
    Object.assign(d, values(el))
    if (isField(el)) d.value = el.value
    return d
  }
  const keyOk = (el: Element, e: KeyboardEvent) => {
    const k = el.getAttribute(KEY)
    return !e.isComposing && (!k || k.toLowerCase() === (e.key || '').toLowerCase())
  }

  on('click', (e: MouseEvent) => {
    const el = within(e, sel(CLICK))
    if (!el) return
    // Connected now or before: the action replaces a link's or button's default (while the socket
    // is down it is dropped: following the link or posting could lose the page to a dead server).
    // Never connected: links and POST forms work natively. Not connected: a checkbox or radio
    // must not change on its own (its state is the server's).
    if (
      ((c.open || c.opened) && /^(A|BUTTON)$/.test(el.tagName)) ||
      (!c.open && /^(checkbox|radio)$/.test((e.target as HTMLInputElement).type))
    )
      e.preventDefault()
    send(el, CLICK, 'click', values(el))
  })

  on('submit', (e: SubmitEvent) => {
    const form = e.target as HTMLFormElement
    if (e.defaultPrevented || !root.contains(form)) return
    const btn = e.submitter as HTMLButtonElement | null
    const a = (btn && btn.name) || form.getAttribute(SUBMIT)
    if (!a || (!form.hasAttribute(SUBMIT) && (form.getAttribute('method') || '').toLowerCase() !== 'post')) return
    // Never connected (WebSockets blocked): the server runs the POST. Connected before: posting
    // to a server that may be down would replace the page, and what the user typed with it.
    if (!c.open) {
      if (c.opened) {
        e.preventDefault()
        c.dropped(a, form)
      }
      return
    }
    e.preventDefault()
    flush(form, true)
    for (const el of Array.from(form.elements)) flush(el, true), used.add(el)
    const d = formData(form)
    if (btn && btn.name && btn.hasAttribute('value')) add(d, btn.name, btn.value)
    const undo: Array<() => void> = []
    for (const b of Array.from(form.elements) as HTMLButtonElement[]) {
      const w = b.getAttribute(DISABLE_WITH)
      if (w == null) continue
      const saved: [string, boolean] = [label(b), b.disabled]
      c.disabled.set(b, saved)
      label(b, w)
      b.disabled = true
      undo.push(() => {
        c.disabled.delete(b)
        label(b, saved[0])
        b.disabled = saved[1]
      })
    }
    c.push(a, d, [form, btn], 'submit', { form, undo: () => undo.forEach((f) => f()) })
  })

  // lvt-change: input and change both fire for most fields; send a change event only when the
  // field's state moved since its last input event.
  const seen = new WeakMap<Element, string>()
  const change = (e: Event) => {
    const t = e.target as Target
    const form = t.form
    used.add(t)
    const a = form && form.getAttribute(CHANGE)
    if (!a || !root.contains(form) || !c.open) return
    if (isField(t)) {
      const v = snap(t)
      if (e.type === 'change' && seen.get(t) === v) return
      seen.set(t, v)
    }
    limit([t, form], 'change', () => c.push(a, formData(form, true), [form], 'change'))
  }
  on('input', change)
  on('change', change)
  // A reset form starts over: its fields are not used (nor is a form the server replaced).
  on('reset', (e: Event) => Array.from((e.target as HTMLFormElement).elements).forEach((f) => used.delete(f)))

  for (const type of ['keydown', 'keyup']) {
    on(type, (e: KeyboardEvent) => {
      const el = within(e, sel(EVENT_PREFIX + type))
      if (el && keyOk(el, e)) send(el, EVENT_PREFIX + type, type, data(el, { key: e.key }))
    })
    on(
      type,
      (e: KeyboardEvent) => {
        root.querySelectorAll<Target>(sel(WINDOW_PREFIX + type)).forEach((el) => {
          if (keyOk(el, e)) send(el, WINDOW_PREFIX + type, type, data(el, { key: e.key }))
        })
      },
      win,
    )
  }

  for (const type of ['focus', 'blur']) {
    on(type, (e: FocusEvent) => {
      const el = e.target as Target
      if (type === 'blur') {
        flush(el)
        flush(el.form)
      }
      if (el.hasAttribute?.(EVENT_PREFIX + type) && root.contains(el)) send(el, EVENT_PREFIX + type, type, data(el))
    }, root, true)
    win.addEventListener(type, (e) => {
      // Only the window's own focus changes: element focus events do not bubble, but be sure.
      if ((e.target as Node).nodeType) return
      root.querySelectorAll<Target>(sel(WINDOW_PREFIX + type)).forEach((el) => send(el, WINDOW_PREFIX + type, type, values(el)))
    })
  }
}
