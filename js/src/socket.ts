//! The WebSocket to the page's own URL: reconnects forever with exponential backoff and full
//! jitter, at once when the browser says the network or the page is back, and treats a missed
//! heartbeat answer as a dead connection. Tells its owner the close code the server gave.

import type { ClientFrame } from './protocol'

/** What the socket needs of a WebSocket; tests inject a fake constructor. */
export interface WebSocketLike {
  readyState: number
  send(data: string | Uint8Array): void
  close(code?: number): void
  onopen: ((ev: any) => void) | null
  onclose: ((ev: any) => void) | null
  onerror: ((ev: any) => void) | null
  onmessage: ((ev: any) => void) | null
}

export type WebSocketCtor = new (url: string) => WebSocketLike

/** How the server closed a connection (from the `CloseEvent`). */
export interface Closed {
  code: number
  reason: string
}

export const BASE_MS = 250
export const CAP_MS = 10_000
export const HEARTBEAT_MS = 25_000

/** Full jitter: a uniformly random delay in [0, min(cap, base * 2^attempt)). */
export const backoff = (attempt: number, random: () => number = Math.random): number =>
  Math.floor(random() * Math.min(CAP_MS, BASE_MS * 2 ** attempt))

/** The page's WebSocket URL: same host, path and query as the page. */
export const pageUrl = (loc: Location): string =>
  (loc.protocol === 'https:' ? 'wss://' : 'ws://') + loc.host + loc.pathname + loc.search

export interface SocketOptions {
  url: () => string
  WebSocket: WebSocketCtor
  /** Called when a connection opens. */
  open: () => void
  /**
   * Called with every frame as parsed JSON (not yet checked: see `decode`); throwing drops the
   * connection (the next one starts clean).
   */
  frame: (f: Record<string, unknown>) => void
  /** Called when a connection or an attempt ends; `why` when the socket itself closed. */
  close: (why?: Closed) => void
  random?: () => number
}

export class Socket {
  ws: WebSocketLike | null = null
  /** Failed attempts since the last healthy frame; drives the backoff. */
  attempt = 0
  private retry: ReturnType<typeof setTimeout> | undefined
  private beat: ReturnType<typeof setInterval> | undefined
  private heard = true
  private stopped = false

  constructor(private o: SocketOptions) {}

  get open(): boolean {
    return !!this.ws && this.ws.readyState === 1
  }

  /** Opens a new connection now, dropping the current one if any. */
  connect(): void {
    this.stopped = false
    clearTimeout(this.retry)
    this.retry = undefined
    this.detach()
    let ws: WebSocketLike
    try {
      ws = this.ws = new this.o.WebSocket(this.o.url())
    } catch {
      this.drop()
      return
    }
    ws.onopen = () => {
      this.heard = true
      clearInterval(this.beat)
      this.beat = setInterval(() => this.tick(), HEARTBEAT_MS)
      this.o.open()
    }
    ws.onmessage = (e) => {
      this.heard = true
      try {
        this.o.frame(JSON.parse(String(e.data)))
        this.attempt = 0
      } catch (err) {
        console.error(err)
        if (this.ws === ws) this.drop()
      }
    }
    ws.onclose = (e) => {
      if (this.ws === ws) this.drop(e && { code: e.code, reason: e.reason || '' })
    }
  }

  /** Connects at once if no connection is open or opening (browser says we may be back). */
  wake(): void {
    if (!this.stopped && !this.ws) this.connect()
  }

  /** Sends a frame (an object, or its JSON text); false when no connection is open. */
  send(frame: ClientFrame | string): boolean {
    if (!this.open) return false
    this.ws!.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
    return true
  }

  /** Sends a binary frame (an upload chunk); false when no connection is open. */
  sendBytes(data: Uint8Array): boolean {
    if (!this.open) return false
    this.ws!.send(data)
    return true
  }

  /** Ends the current connection and schedules the next attempt. */
  drop(why?: Closed): void {
    this.detach()
    this.o.close(why)
    if (!this.stopped) this.retry = setTimeout(() => this.connect(), backoff(this.attempt++, this.o.random))
  }

  /** Closes for good (no reconnect). */
  stop(): void {
    this.stopped = true
    clearTimeout(this.retry)
    this.detach()
  }

  /** Reconnects on the browser's "we are back" events. */
  watch(win: Window): void {
    const wake = () => this.wake()
    win.addEventListener('online', wake)
    win.addEventListener('pageshow', wake)
    win.document.addEventListener('visibilitychange', () => {
      if (win.document.visibilityState === 'visible') wake()
    })
  }

  private tick(): void {
    if (!this.heard) return this.drop()
    this.heard = false
    this.send({ h: 1 })
  }

  private detach(): void {
    clearInterval(this.beat)
    const ws = this.ws
    this.ws = null
    if (!ws) return
    ws.onopen = ws.onclose = ws.onmessage = ws.onerror = null
    try {
      ws.close()
    } catch {
      /* already closed */
    }
  }
}
