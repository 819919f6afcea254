// The typed wire format: decode's kinds and checks, and one place for every shared name.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Client } from '../src/client'
import { decode } from '../src/protocol'
import { FakeWS } from './fake'

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src')

describe('decode', () => {
  it('tags each frame with its kind', () => {
    const kinds = [
      [{ v: 1, s: { '0': ['a'] }, t: { s: 0 } }, 'hello'],
      [{ r: 1 }, 'reply'],
      [{ r: 2, d: { '0': 'x' }, patch: '?p=1', events: [['e', null]] }, 'reply'],
      [{ r: 3, e: 'no' }, 'error'],
      [{ e: 'malformed frame' }, 'error'],
      [{ d: { '0': 'y' } }, 'push'],
      [{ h: 1 }, 'heartbeat'],
    ] as const
    for (const [f, kind] of kinds) expect(decode(JSON.parse(JSON.stringify(f))).kind, JSON.stringify(f)).toBe(kind)
  })

  it('refuses keys of the wrong type', () => {
    for (const f of [
      null,
      [],
      'x',
      { r: '1' },
      { v: 1 },
      { v: '1', t: { s: 0 } },
      { e: 5 },
      { d: 'x' },
      { s: null },
      { patch: 1 },
      { redirect: {} },
      { events: {} },
      { events: [[1, 2]] },
    ])
      expect(() => decode(f), JSON.stringify(f)).toThrow(/malformed server frame/)
  })
})

describe('client and malformed frames', () => {
  afterEach(() => vi.restoreAllMocks())

  it('drops the connection on a frame of the wrong shape and reconnects', () => {
    vi.useFakeTimers()
    vi.spyOn(console, 'error').mockImplementation(() => {})
    document.body.innerHTML = '<div data-lvt-root id="root"></div>'
    FakeWS.all = []
    const client = new Client(document.getElementById('root')!, { WebSocket: FakeWS, url: () => 'ws://t/x', random: () => 0 })
    client.connect()
    const ws = FakeWS.last.accept().recv({ v: 1, s: { '0': ['<p>', '</p>'] }, t: { s: 0, '0': 'a' } })
    expect(document.getElementById('root')!.innerHTML).toBe('<p>a</p>')
    ws.recv({ r: 'one', d: { '0': 'b' } })
    expect(ws.closed).toBe(true)
    expect(document.getElementById('root')!.innerHTML).toBe('<p>a</p>')
    vi.advanceTimersByTime(1)
    expect(FakeWS.all.length).toBe(2)
    client.sock.stop()
    vi.useRealTimers()
  })
})

describe('constants.ts', () => {
  it('is the only module that spells an lvt- name or a close code', () => {
    for (const file of readdirSync(src)) {
      if (file === 'constants.ts') continue
      // Code only: comments may name attributes.
      const code = readFileSync(resolve(src, file), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, '')
      expect(code.match(/['"`][^'"`]*lvt-[^'"`]*['"`]/g), file).toBeNull()
      expect(code.match(/\b1[01]\d\d\b/g), file).toBeNull()
    }
  })
})
