//! Entry point of the bundle: boots on the page's `[data-lvt-root]` element and exposes
//! `window.LiveTemplate` (hooks registry, connect/disconnect/push for tests and user code).

import type { Data } from './bindings'
import { Client } from './client'
import { has, ROOT } from './constants'
import type { HookDef } from './hooks'

interface Api {
  hooks: Record<string, HookDef>
  client?: Client
  /** Boots if needed, then connects now unless a connection is open. */
  connect(): void
  /** Drops the connection as a network failure would (it comes back with backoff). */
  disconnect(): void
  /** Runs a server action; returns its ref, or 0 when not connected. */
  push(action: string, data?: Data): number
}

const w = window as unknown as { LiveTemplate?: Partial<Api> }
const api = (w.LiveTemplate = w.LiveTemplate || {}) as Api
api.hooks = api.hooks || {}

const boot = (): Client | undefined => {
  const root = document.querySelector<HTMLElement>(has(ROOT))
  if (!api.client && root) {
    api.client = new Client(root, { hooks: () => api.hooks })
    api.client.connect()
  }
  return api.client
}

api.connect = () => {
  const c = api.client || boot()
  if (c && !c.sock.ws) c.connect()
}
api.disconnect = () => api.client?.disconnect()
api.push = (a, d = {}) => (api.client ? api.client.push(a, d, [], '') : 0)

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot)
else boot()
