//! `lvt-hook` elements: user code called at the element's lifecycle points (mounted,
//! beforeUpdate, updated, beforeDestroy, destroyed, disconnected, reconnected).

import { HOOK, has } from './constants'
import { within } from './morph'

/** A hook definition as registered in `window.LiveTemplate.hooks`. */
export interface HookDef {
  mounted?(this: HookThis): void
  beforeUpdate?(this: HookThis): void
  updated?(this: HookThis): void
  beforeDestroy?(this: HookThis): void
  destroyed?(this: HookThis): void
  disconnected?(this: HookThis): void
  reconnected?(this: HookThis): void
  [other: string]: unknown
}

/** `this` inside a hook callback. */
export interface HookThis {
  el: HTMLElement
  /**
   * Runs a server action (on the component instance the element is in, as its events do);
   * resolves with the error message, or undefined on success.
   */
  pushEvent(action: string, data?: Record<string, unknown>): Promise<string | undefined>
  /** Calls `cb` with the payload of every server event `name` until the element is destroyed. */
  handleEvent(name: string, cb: (payload: unknown) => void): void
}

type Instance = HookThis & HookDef & { off: Array<() => void> }

export interface HookHost {
  defs(): Record<string, HookDef> | undefined
  /** Runs `action`, on the component instance `el` is in, if any. */
  push(action: string, data: Record<string, unknown> | undefined, el: Element): Promise<string | undefined>
  /** Subscribes to a server event; returns the unsubscribe function. */
  listen(name: string, cb: (payload: unknown) => void): () => void
}

const call = (h: Instance, name: keyof HookDef) => {
  const f = h[name]
  if (typeof f === 'function') {
    try {
      f.call(h)
    } catch (e) {
      console.error(e)
    }
  }
}

export class Hooks {
  private live = new Map<Element, Instance>()
  private changed = new Set<Instance>()

  constructor(private host: HookHost) {}

  /** morphdom is about to update `from`: beforeUpdate now, updated after the morph. */
  updating(from: Element, to: Element): void {
    const h = this.live.get(from)
    if (h && !this.changed.has(h) && !from.isEqualNode(to)) {
      call(h, 'beforeUpdate')
      this.changed.add(h)
    }
  }

  /** `el` and its subtree are about to leave the page. */
  removing(el: Element): void {
    for (const e of [el, ...Array.from(el.querySelectorAll(has(HOOK)))]) {
      const h = this.live.get(e)
      if (h) call(h, 'beforeDestroy')
    }
  }

  /**
   * After a morph: destroyed for gone elements, updated for changed ones, mounted for new ones
   * (looked for in `scope`: the region, or the elements a scoped patch added or morphed).
   */
  sync(scope: Element[]): void {
    this.live.forEach((h, el) => {
      if (el.isConnected) return
      this.live.delete(el)
      call(h, 'destroyed')
      h.off.forEach((f) => f())
    })
    this.changed.forEach((h) => this.live.has(h.el) && call(h, 'updated'))
    this.changed.clear()
    for (const el of scope.flatMap((s) => within(s, has(HOOK))) as HTMLElement[]) {
      const def = !this.live.has(el) && this.host.defs()?.[el.getAttribute(HOOK)!]
      if (!def) continue
      const h = Object.create(def) as Instance
      h.el = el
      h.off = []
      h.pushEvent = (a, d) => this.host.push(a, d, el)
      h.handleEvent = (name, cb) => h.off.push(this.host.listen(name, cb))
      this.live.set(el, h)
      call(h, 'mounted')
    }
  }

  /** Calls `name` on every live hook (disconnected, reconnected). */
  each(name: 'disconnected' | 'reconnected'): void {
    this.live.forEach((h) => call(h, name))
  }
}
