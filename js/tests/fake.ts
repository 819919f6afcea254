// A scriptable WebSocket for the socket and client tests.
import type { WebSocketLike } from '../src/socket'

export class FakeWS implements WebSocketLike {
  static all: FakeWS[] = []
  static get last(): FakeWS {
    return FakeWS.all[FakeWS.all.length - 1]
  }
  readyState = 0
  sent: any[] = []
  closed = false
  onopen: ((ev: any) => void) | null = null
  onclose: ((ev: any) => void) | null = null
  onerror: ((ev: any) => void) | null = null
  onmessage: ((ev: any) => void) | null = null

  constructor(public url: string) {
    FakeWS.all.push(this)
  }
  send(data: string | Uint8Array): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open')
    this.sent.push(typeof data === 'string' ? JSON.parse(data) : data)
  }
  close(): void {
    this.closed = true
    this.readyState = 3
  }
  /** The server accepts the connection. */
  accept(): this {
    this.readyState = 1
    this.onopen?.({})
    return this
  }
  /** The server sends a frame. */
  recv(frame: object): this {
    this.onmessage?.({ data: JSON.stringify(frame) })
    return this
  }
  /** The connection fails (1006), or the server closes it with `code` and `reason`. */
  fail(code = 1006, reason = ''): void {
    this.readyState = 3
    this.onclose?.({ code, reason })
  }
}
