import { afterAll, describe, expect, it, vi } from 'vitest'
import type { HookThis } from '../src/hooks'
import { FakeWS } from './fake'

describe('bundle entry', () => {
  afterAll(() => {
    ;(window as any).LiveTemplate?.client?.sock.stop()
    vi.unstubAllGlobals()
  })

  it('boots on [data-lvt-root], keeps pre-registered hooks and exposes connect/disconnect/push', async () => {
    vi.stubGlobal('WebSocket', FakeWS)
    FakeWS.all = []
    document.body.innerHTML = '<main><div data-lvt-root><p lvt-hook="Hi">x</p></div></main>'
    const mounted: string[] = []
    ;(window as any).LiveTemplate = { hooks: { Hi: { mounted(this: HookThis) { mounted.push(this.el.textContent!) } } } }
    await import('../src/index')
    const api = (window as any).LiveTemplate
    expect(FakeWS.all.length).toBe(1)
    expect(FakeWS.last.url).toBe(`ws://${location.host}${location.pathname}${location.search}`)
    FakeWS.last.accept().recv({ v: 1, s: { '0': ['<p lvt-hook="Hi">', '</p>'] }, t: { s: 0, '0': 'y' } })
    expect(mounted).toEqual(['y'])
    expect(api.push('inc', { by: 2 })).toBe(1)
    expect(FakeWS.last.sent).toEqual([{ a: 'inc', d: { by: 2 }, r: 1 }])
    api.connect() // already open: no new socket
    expect(FakeWS.all.length).toBe(1)
    api.disconnect()
    const root = document.querySelector('[data-lvt-root]')!
    expect(root.classList.contains('lvt-disconnected')).toBe(true)
    expect(api.push('inc')).toBe(0)
    api.connect() // reconnect now instead of waiting for the backoff
    expect(FakeWS.all.length).toBe(2)
  })
})
