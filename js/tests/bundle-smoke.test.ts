import { readFileSync } from 'node:fs'
import { afterAll, expect, it, vi } from 'vitest'
import { outfile } from '../build.mjs'
import { FakeWS } from './fake'

afterAll(() => {
  ;(window as any).LiveTemplate?.client?.sock.stop()
  delete (window as any).LiveTemplate
  vi.unstubAllGlobals()
})

// Runs the minified file itself (not the sources): boot, render, a click round trip.
it('the built client.js boots, renders frames and sends actions', () => {
  vi.stubGlobal('WebSocket', FakeWS)
  FakeWS.all = []
  delete (window as any).LiveTemplate
  document.body.innerHTML = '<div data-lvt-root><p>Counter: <strong>0</strong></p><button lvt-click="increment">+</button></div>'
  new Function(readFileSync(outfile, 'utf8'))()
  const ws = FakeWS.last.accept()
  ws.recv({ v: 1, s: { '0': ['<p>Counter: <strong>', '</strong></p><button lvt-click="increment">+</button>'] }, t: { s: 0, '0': '0' } })
  const root = document.querySelector('[data-lvt-root]')!
  expect(root.classList.contains('lvt-connected')).toBe(true)
  ;(root.querySelector('button') as HTMLButtonElement).click()
  expect(ws.sent).toEqual([{ a: 'increment', r: 1 }])
  expect(root.querySelector('button')!.classList.contains('lvt-click-loading')).toBe(true)
  ws.recv({ d: { '0': '1' }, r: 1 })
  expect(root.querySelector('strong')!.textContent).toBe('1')
  expect(root.querySelector('button')!.className).toBe('')
})
