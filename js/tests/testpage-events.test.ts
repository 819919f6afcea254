// The client events of crates/livetemplate-core/src/testing/client_events.json, fired at the real
// bindings: the frame each sends must be the one the fixture gives, which is also what
// `TestPage` builds for the same HTML (its Rust tests read the same file). No `<select multiple>`
// here: happy-dom's FormData reads only one of its selected options (browsers read them all, as
// `TestPage` does; its own tests cover it).
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import { Client } from '../src/client'
import { FakeWS } from './fake'

interface Case {
  name: string
  html: string
  event: 'click' | 'submit' | 'change' | 'keydown' | 'keyup'
  selector: string
  key?: string
  frame: Record<string, unknown>
}

const file = resolve(dirname(fileURLToPath(import.meta.url)), '../../crates/livetemplate-core/src/testing/client_events.json')
const cases: Case[] = JSON.parse(readFileSync(file, 'utf8'))

let client: Client
const stop = (e: Event) => e.preventDefault()
beforeEach(() => {
  vi.useFakeTimers()
  document.addEventListener('submit', stop)
})
afterEach(() => {
  client.sock.stop()
  document.removeEventListener('submit', stop)
  vi.useRealTimers()
})

it('has cases', () => {
  expect(cases.length).toBeGreaterThanOrEqual(8)
  client = new Client(document.body, { WebSocket: FakeWS, url: () => 'ws://t/test' })
})

for (const c of cases) {
  it(c.name, () => {
    document.body.innerHTML = `<div data-lvt-root id="root">${c.html}</div>`
    const root = document.getElementById('root')!
    FakeWS.all = []
    client = new Client(root, { WebSocket: FakeWS, url: () => 'ws://t/test' })
    client.connect()
    const ws = FakeWS.last
    ws.accept().recv({ v: 1, s: { p: [c.html] }, t: { s: 'p' } })
    const el = root.querySelector(c.selector) as HTMLElement
    expect(el).not.toBeNull()
    switch (c.event) {
      case 'click':
      case 'submit':
        el.click()
        break
      case 'change':
        el.dispatchEvent(new Event('input', { bubbles: true }))
        break
      default:
        el.dispatchEvent(new KeyboardEvent(c.event, { key: c.key, bubbles: true }))
    }
    const sent = ws.sent.filter((f) => !f.h)
    expect(sent.length).toBe(1)
    const { r, ...frame } = sent[0]
    expect(r).toBe(1)
    expect(frame).toEqual(c.frame)
  })
}
