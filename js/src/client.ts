//! One live page: ties the socket, the tree, the patch or morph, the bindings and the hooks together.
//! Owns the refs in flight (loading classes, disable-with), the root's connection and error
//! classes, the frame size limit, and form recovery after a reconnect.

import { bind, formData, label, target, type Data, type Pusher } from './bindings'
import {
  CLOSE_BAD_DATA,
  CLOSE_ERROR,
  CLOSE_POLICY,
  CLOSE_TOO_BIG,
  CLOSE_UNSUPPORTED,
  CONNECTED,
  DISCONNECTED,
  ERROR,
  ERROR_MESSAGE,
  EVENT,
  FLASH,
  NAVIGATE,
  PATCH,
  has,
  loading,
  AUTO_RECOVER,
  CHANGE,
  MAX_FRAME,
  PROTOCOL_VERSION,
} from './constants'
import { Hooks, type HookDef } from './hooks'
import { recoverable, morph, recordFields, update, within, type MorphOptions } from './morph'
import { patch, type Places } from './patch'
import { decode, type ActionFrame, type ServerFrame } from './protocol'
import { pageUrl, Socket, type Closed, type WebSocketCtor } from './socket'
import { Tree, type Changes } from './tree'
import { uploads } from './upload'

export interface ClientOptions {
  /** WebSocket constructor (tests inject a fake). */
  WebSocket?: WebSocketCtor
  /** The socket URL; defaults to the page's own URL. */
  url?: () => string
  /** Random source of the backoff jitter. */
  random?: () => number
  /** The hook registry, read whenever an `lvt-hook` element appears. */
  hooks?: () => Record<string, HookDef> | undefined
}

interface InFlight {
  action: string
  els: Element[]
  cls: string
  /** The form of a submit: its reply gives the server's values to its fields. */
  form?: Element
  undo?: () => void
  done?: (error?: string) => void
}

/** Close codes that mean the server refused what the client sent, or failed: worth telling the user. */
const REFUSED = [CLOSE_UNSUPPORTED, CLOSE_BAD_DATA, CLOSE_POLICY, CLOSE_TOO_BIG, CLOSE_ERROR]

export class Client implements Pusher {
  readonly tree = new Tree()
  readonly sock: Socket
  readonly hooks: Hooks
  readonly inFlight = new Map<number, InFlight>()
  readonly disabled = new Map<Element, [string, boolean]>()
  ref = 0
  /** Connections that opened so far. */
  opened = 0
  /** Frames received on the current connection. */
  received = 0
  /** The server's frame limit in bytes (the root's `data-lvt-max-frame`; none without it). */
  readonly max: number
  private reconnected = false
  private recovering = new Set<number>()
  private dirty = false
  /** The changes (lists, slots, instances) of the frame waiting to be rendered; null: render the whole region. */
  private pending: Changes | null = null
  /** Where each changed list's elements were last found. */
  private places: Places = new Map()
  private listeners = new Map<string, Set<(p: unknown) => void>>()
  /**
   * Errors by owner: the form (else the element) whose event failed and that holds
   * `lvt-error-message` elements, shown there until its next success; `null`: the page's
   * (connection errors, errors whose owner holds no such element), shown in the ones outside
   * forms until any reply succeeds.
   */
  private errors = new Map<Element | null, string>()
  /** The page's path and query as last seen (a patch or a history move changes them). */
  private here = ''
  /** The group's flash as the server last sent it, message by kind. */
  private flash: Record<string, string> = {}
  /** The ref of the last navigation to a URL the history already shows (back, forward). */
  private popped = 0
  /** The page's window. */
  private readonly win: Window

  constructor(
    readonly root: HTMLElement,
    o: ClientOptions = {},
  ) {
    const win = (this.win = root.ownerDocument.defaultView!)
    this.max = +(root.getAttribute(MAX_FRAME) || 0) || Infinity
    this.sock = new Socket({
      url: o.url || (() => pageUrl(win.location)),
      WebSocket: o.WebSocket || WebSocket,
      random: o.random,
      open: () => this.opens(),
      frame: (f) => this.frame(decode(f)),
      close: (why) => this.closes(why),
    })
    this.hooks = new Hooks({
      defs: o.hooks || (() => undefined),
      push: (a, d, el) => new Promise((done) => this.push(a, (d || {}) as Data, [el], '', { done }) || done('disconnected')),
      listen: (name, cb) => this.on(name, cb),
    })
    recordFields(root)
    this.showError()
    bind(root, this)
    uploads(root, this)
    this.sock.watch(win)
    // Back or forward to another URL of the page (after a patch): the server runs the page's
    // handle_params for it. Not connected: the next connection opens that URL anyway.
    // Another page (its path differs): a live navigation, without a new history entry.
    const where = () => win.location.pathname + win.location.search
    this.here = where()
    win.addEventListener('popstate', () => {
      const w = where()
      if (w === this.here) return
      const other = win.location.pathname !== this.here.split('?')[0]
      this.here = w
      other ? this.go(w + win.location.hash, 1) : this.params()
    })
    // lvt-patch and lvt-navigate links (in the live region or the layout around it), followed
    // in the page when connected (else, or when the user asks for a new tab or window, loaded
    // as usual), and flash dismissal.
    win.document.addEventListener('click', (e) => {
      const t = e.target as Element
      const a = t.closest?.(`a[${PATCH}],a[${NAVIGATE}]`) as HTMLAnchorElement | null
      const fl = t.closest?.(has(FLASH))
      if (a) {
        if (this.open && !e.defaultPrevented && !e.button && !(e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)) {
          e.preventDefault()
          this.patch(a.href, !a.hasAttribute(PATCH))
        }
      } else if (fl) {
        const kind = fl.getAttribute(FLASH)!
        delete this.flash[kind]
        this.showFlash()
        this.push('lvt:clear_flash', { kind }, [], '')
      }
    })
  }

  /**
   * Moves to another page of the app on this connection (`{"n": url}`); the reply carries
   * the new page. `pop`: the history already shows `url` (back, forward). Not connected: the
   * next connection opens the page the address bar shows.
   */
  go(url: string, pop?: 1): void {
    if (!this.sock.send({ n: url, r: ++this.ref })) return
    // The page asked for: a link clicked before the reply compares with it.
    this.here = url.split('#')[0]
    if (pop) this.popped = this.ref
  }

  /**
   * Follows an `lvt-patch` link: another URL of this page goes in the address bar and the
   * server runs `handle_params` for it; any other URL is loaded. `nav` (an `lvt-navigate`
   * link): another page of this site is reached by a live navigation.
   */
  patch(url: string, nav?: boolean): void {
    const win = this.win
    const u = new URL(url, win.location.href)
    const other = u.pathname !== this.here.split('?')[0]
    if (u.origin !== win.location.origin || !this.open || (other && !nav)) return win.location.assign(u.href)
    if (other) return this.go(u.pathname + u.search + u.hash)
    // Only the hash moved: nothing for the server; the browser scrolls to it.
    if (u.pathname + u.search === this.here) win.location.hash = u.hash
    else {
      win.history.pushState(null, '', u.pathname + u.search + u.hash)
      this.here = u.pathname + u.search
      this.params()
    }
  }

  /** Tells the server the page's URL changed (`{"p": url}`), when connected. */
  private params(): void {
    if (!this.open) return
    const r = ++this.ref
    this.sock.send({ p: this.here, r })
    this.inFlight.set(r, { action: 'handle_params', els: [], cls: '' })
  }

  get open(): boolean {
    return this.sock.open
  }

  /** Calls `cb` with the payload of every pushed event `name`; returns the unsubscribe. */
  on(name: string, cb: (p: unknown) => void): () => void {
    let set = this.listeners.get(name)
    if (!set) this.listeners.set(name, (set = new Set()))
    set.add(cb)
    return () => set!.delete(cb)
  }

  /**
   * Sends `bytes` for upload entry `id` as one binary frame (`[ref][id][bytes]`, both u32
   * big-endian); `done` is called with its reply's error, if any. Returns the ref, 0 when
   * not connected.
   */
  chunk(id: number, bytes: Uint8Array, done: (error?: string) => void): number {
    if (!this.open) return 0
    const r = ++this.ref
    const buf = new Uint8Array(8 + bytes.length)
    const v = new DataView(buf.buffer)
    v.setUint32(0, r)
    v.setUint32(4, id)
    buf.set(bytes, 8)
    this.inFlight.set(r, { action: 'lvt:chunk', els: [], cls: '', done })
    this.sock.sendBytes(buf)
    return r
  }

  /** Connects now (a new connection if one is open). */
  connect(): void {
    this.sock.connect()
  }

  /** Drops the connection as a network failure would; the socket reconnects with backoff. */
  disconnect(): void {
    if (this.sock.ws) this.sock.drop()
  }

  /**
   * Sends action `a` to the component instance `els[0]` is in (see `target`), else the page;
   * returns its ref, or 0 when no connection is open. A message over the
   * server's frame limit is not sent (the server would close the connection and lose it): it
   * gets an error reply from the client itself, so it is reported as any action error.
   */
  push(a: string, d: Data, els: Array<Element | null | undefined>, ev: string, x: Partial<InFlight> = {}): number {
    if (!this.open) return 0
    const r = ++this.ref
    const t = target(els[0])
    const msg: ActionFrame = Object.keys(d).length ? { a, d, r, t } : { a, r, t }
    const text = JSON.stringify(msg)
    // UTF-8 takes at most 3 bytes per UTF-16 unit: short messages need no encoding to measure.
    const size = text.length * 3 > this.max ? new TextEncoder().encode(text).length : 0
    if (size <= this.max) this.sock.send(text)
    const f: InFlight = { action: a, els: els.filter((e): e is Element => !!e), cls: ev && loading(ev), ...x }
    if (f.cls) f.els.forEach((e) => e.classList.add(f.cls))
    this.inFlight.set(r, f)
    // After the caller is done (it may be rendering, or recovering forms), as a reply would be.
    if (size > this.max)
      Promise.resolve().then(() => this.frame({ kind: 'error', r, e: `message too large: ${size} bytes, the limit is ${this.max}` }))
    return r
  }

  /**
   * An event binding fired while no connection is open: the action is not sent. Re-renders the
   * cached tree so the page shows the server's state again (a clicked checkbox unticks), and
   * tells the app with `lvt:dropped`.
   */
  dropped(action: string, el: Element): void {
    if (this.tree.root) this.render({ drafts: true })
    this.root.dispatchEvent(new CustomEvent(EVENT + 'dropped', { bubbles: true, detail: { action, el } }))
  }

  private settle(r: number, error?: string): InFlight | undefined {
    const f = this.inFlight.get(r)
    if (!f) return
    this.inFlight.delete(r)
    const busy = (e: Element) => Array.from(this.inFlight.values()).some((g) => g.cls === f.cls && g.els.indexOf(e) >= 0)
    if (f.cls) f.els.forEach((e) => busy(e) || e.classList.remove(f.cls))
    f.undo?.()
    f.done?.(error)
    return f
  }

  private classes(connected: boolean): void {
    this.root.classList.toggle(CONNECTED, connected)
    this.root.classList.toggle(DISCONNECTED, !connected)
  }

  private opens(): void {
    this.received = 0
    this.tree.reset()
    this.reconnected = this.opened++ > 0
    this.classes(true)
  }

  private closes(why?: Closed): void {
    const was = this.root.classList.contains(CONNECTED)
    this.classes(false)
    this.inFlight.forEach((_, r) => this.settle(r, 'disconnected'))
    this.recovering.clear()
    this.dirty = false
    if (was) this.hooks.each('disconnected')
    // Going away, a network failure or a normal close are what reconnecting is for; these are not.
    if (why && REFUSED.indexOf(why.code) >= 0) {
      const { code, reason } = why
      // 1009 before the first frame: the page itself is over the server's outbound frame limit.
      // Another attempt would get the same close, so stay disconnected until the page reloads.
      const stuck = code === CLOSE_TOO_BIG && !this.received
      if (stuck) this.sock.stop()
      this.fail(`connection closed by the server: ${reason || 'error'} (${code})`, stuck ? { code, reason, reconnect: false } : { code, reason }, null)
    }
  }

  /** Shows `message` as the error of `owner` (the page's: null) and dispatches `lvt:error` with it and `detail`. */
  private fail(message: string, detail: object, owner: Element | null): void {
    this.errors.set(owner, message)
    this.showError()
    this.root.classList.add(ERROR)
    this.root.dispatchEvent(new CustomEvent(EVENT + 'error', { bubbles: true, detail: { message, ...detail } }))
  }

  private frame(f: ServerFrame): void {
    this.received++
    if (f.kind === 'heartbeat') return
    if (f.kind === 'hello' && !(f.v >= 1 && f.v <= PROTOCOL_VERSION)) console.warn('lvt: server speaks protocol', f.v)
    const r = f.r
    const done = r != null ? this.settle(r, f.e) : undefined
    // Another page: its statics and tree start over, as on a new connection.
    if (f.navigate != null) this.tree.reset()
    const changed = this.tree.apply(f)
    // An error reply leaves the server's state as it was, but the browser may have changed the
    // page already (a clicked checkbox): re-render the cached tree, keeping the user's drafts.
    const drafts = !changed && f.kind === 'error' && !!done && !!this.tree.root
    if (changed || drafts) {
      // A frame held back (forms recovering) and this one: render it all.
      this.pending = this.dirty || drafts ? null : this.tree.changes
      this.dirty = true
    }
    const replay = !!f.t && this.reconnected
    if (replay) {
      this.reconnected = false
      this.recover()
    }
    if (r != null) this.recovering.delete(r)
    if (this.dirty && !this.recovering.size) this.render(drafts ? { drafts } : { submitted: done && done.form })
    if (replay) this.hooks.each('reconnected')
    // The error's owner: the form (or element) whose event it answers, when it has an
    // lvt-error-message element; else the page.
    const el = done && done.els[0]
    const o = el?.closest('form') || el
    const owner = o && o.querySelector(has(ERROR_MESSAGE)) ? o : null
    if (f.kind === 'error') this.fail(f.e, { ref: r, action: done && done.action }, owner)
    else if (r != null) {
      if (this.errors.size) {
        this.errors.delete(owner)
        this.errors.delete(null)
        this.showError()
        this.errors.size || this.root.classList.remove(ERROR)
      }
    }
    for (const [name, payload] of f.events || []) {
      this.listeners.get(name)?.forEach((cb) => cb(payload))
      this.root.dispatchEvent(new CustomEvent(EVENT + name, { bubbles: true, detail: payload }))
    }
    const win = this.win
    if (f.title != null) document.title = f.title
    if (f.flash) this.flash = f.flash
    if (changed || f.flash) this.showFlash()
    // A patch or another page: the address bar follows (back and forward moved it already).
    const url = f.navigate ?? f.patch
    if (url != null) {
      if (r !== this.popped) win.history.pushState(null, '', url)
      this.here = win.location.pathname + win.location.search
    }
    if (f.navigate != null) {
      const el = document.getElementById(win.location.hash.slice(1))
      el ? el.scrollIntoView() : win.scrollTo(0, 0)
    }
    if (f.redirect != null) win.location.assign(f.redirect)
  }

  /**
   * Puts the tree into the page: only the changed list items' elements, id'd elements and
   * component instances' wrappers when the frame changed nothing else and they can be found
   * (patch.ts), else a morph of the whole region.
   */
  private render(o: MorphOptions): void {
    const changes = o.drafts ? null : this.pending
    this.dirty = false
    this.pending = null
    const opts: MorphOptions = {
      ...o,
      updating: (from, to) => this.lock(from, to),
      removing: (el) => this.hooks.removing(el),
    }
    if (changes) {
      const u = update(this.root, opts)
      const els = patch(this.root, changes, this.tree, u, this.places)
      u.finish()
      if (els) {
        this.hooks.sync(els)
        els.forEach((el) => this.showError(el))
        return
      }
    }
    morph(this.root, this.tree.html(), opts)
    this.hooks.sync([this.root])
    this.showError()
  }

  /** Puts the flash into the `lvt-flash` elements of the document, hiding those of a kind without one. */
  private showFlash(): void {
    document.querySelectorAll<HTMLElement>(has(FLASH)).forEach((el) => {
      const m = this.flash[el.getAttribute(FLASH)!] || ''
      el.textContent = m
      el.hidden = !m
    })
  }

  /** Puts each owner's error into its `lvt-error-message` elements (in `scope`), the page's into those outside forms; hidden when empty. */
  private showError(scope: Element = this.root): void {
    within(scope, has(ERROR_MESSAGE)).forEach((el) => {
      let t = ''
      this.errors.forEach((m, o) => {
        if (o ? o.contains(el) : !el.closest('form')) t = m
      })
      if (el.textContent !== t) el.textContent = t
      el.toggleAttribute('hidden', !t)
    })
  }

  /** Keeps the client-side state of elements whose event is in flight through a morph. */
  private lock(from: Element, to: Element): void {
    this.hooks.updating(from, to)
    this.inFlight.forEach((f) => f.cls && f.els.indexOf(from) >= 0 && to.classList.add(f.cls))
    const saved = this.disabled.get(from)
    if (saved) {
      saved[0] = label(to)
      saved[1] = to.hasAttribute('disabled')
      label(to, label(from))
      to.setAttribute('disabled', '')
    }
  }

  /**
   * After a reconnect the server has the persisted state but not what the user typed since:
   * send the values of forms with `lvt-auto-recover`, or with an id and `lvt-change`, where
   * the user entered something the server's new render (the same form by position) does not
   * show, and hold the DOM as it is until those replies arrive.
   */
  private recover(): void {
    const t = document.createElement('template')
    t.innerHTML = this.tree.html()
    this.root.querySelectorAll('form').forEach((form, i) => {
      const ar = form.getAttribute(AUTO_RECOVER)
      if (ar === 'ignore' || !recoverable(form, t.content.querySelectorAll('form')[i])) return
      const a = ar || (ar != null || form.id ? form.getAttribute(CHANGE) : null)
      const r = a ? this.push(a, formData(form, true), [form], 'change') : 0
      if (r) this.recovering.add(r)
    })
  }
}
