import { beforeEach, describe, expect, it } from 'vitest'
import { Client } from '../src/client'
import { uploads, WINDOW, type Uploader } from '../src/upload'
import { FakeWS } from './fake'

/** A fake client: records pushes and chunks, answers chunks when told. */
class Fake implements Uploader {
  open = true
  opened = 1
  max = Infinity
  pushes: Array<[string, any]> = []
  chunks: Array<{ id: number; bytes: Uint8Array; done: (e?: string) => void }> = []
  private events = new Map<string, (p: any) => void>()
  push(a: string, d: any): number {
    this.pushes.push([a, d])
    return this.pushes.length
  }
  chunk(id: number, bytes: Uint8Array, done: (e?: string) => void): number {
    if (!this.open) return 0
    this.chunks.push({ id, bytes, done })
    return this.chunks.length
  }
  on(name: string, cb: (p: any) => void) {
    this.events.set(name, cb)
  }
  emit(p: any) {
    this.events.get('lvt:upload')!(p)
  }
  /** Answers every chunk sent so far that has no answer yet. */
  ackAll(error?: string) {
    const pending = this.chunks.filter((c) => !(c as any).acked)
    pending.forEach((c) => ((c as any).acked = true) && c.done(error))
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0))
/** Lets the module's file reads (promises) and their sends run. */
const settle = async () => {
  for (let i = 0; i < 20; i++) await tick()
}

let root: HTMLElement
let c: Fake
let input: HTMLInputElement

const choose = (files: File[]) => {
  Object.defineProperty(input, 'files', { value: files, configurable: true })
  input.dispatchEvent(new Event('change', { bubbles: true }))
}

beforeEach(() => {
  document.body.innerHTML = `<div data-lvt-root id="root"><form method="POST"><input type="file" name="docs" lvt-upload="docs" multiple><button name="save">Save</button></form><div id="drop" lvt-drop-target="docs"></div></div>`
  root = document.getElementById('root')!
  input = root.querySelector('input')!
  c = new Fake()
  uploads(root, c)
})

describe('uploads', () => {
  it('names the chosen files first and sends no byte before the server accepts them', async () => {
    choose([new File(['abc'], 'a.txt', { type: 'text/plain' }), new File(['x'.repeat(10)], 'b.bin')])
    expect(c.pushes).toEqual([
      ['lvt:upload', { name: 'docs', files: [{ k: 1, name: 'a.txt', size: 3, type: 'text/plain' }, { k: 2, name: 'b.bin', size: 10, type: '' }] }],
    ])
    await settle()
    expect(c.chunks).toEqual([])
    // The server refuses the first, accepts the second (id 7), not auto: still nothing sent.
    c.emit({ u: 'docs', ok: [[2, 7]], c: 4, auto: false })
    await settle()
    expect(c.chunks).toEqual([])
  })

  it('auto uploads in chunks with at most WINDOW unanswered, in order, byte for byte', async () => {
    const text = 'abcdefghijklmnopqrstuvwxyz0123456789'
    choose([new File([text], 'a.txt')])
    c.emit({ u: 'docs', ok: [[1, 3]], c: 5, auto: true })
    await settle()
    expect(c.chunks.length).toBe(WINDOW)
    c.ackAll()
    await settle()
    c.ackAll()
    await settle()
    expect(c.chunks.length).toBe(Math.ceil(text.length / 5))
    const dec = new TextDecoder()
    expect(c.chunks.map((x) => dec.decode(x.bytes)).join('')).toBe(text)
    expect(new Set(c.chunks.map((x) => x.id))).toEqual(new Set([3]))
  })

  it('a submit waits for the form\'s uploads, then submits for real', async () => {
    const submits: boolean[] = []
    document.addEventListener('submit', (e) => {
      submits.push(e.defaultPrevented)
      e.preventDefault()
    })
    choose([new File(['0123456789'], 'a.bin')])
    c.emit({ u: 'docs', ok: [[1, 4]], c: 6, auto: false })
    const form = root.querySelector('form')!
    form.requestSubmit(root.querySelector('button')!)
    expect(submits).toEqual([true])
    await settle()
    expect(c.chunks.length).toBe(2)
    c.ackAll()
    await settle()
    expect(submits).toEqual([true, false])
  })

  it('a submit waits only for its own form\'s uploads, whose chunks take turns with others', async () => {
    root.insertAdjacentHTML('beforeend', '<form id="other"><input type="file" lvt-upload="pics"><button>Go</button></form>')
    const submits: string[] = []
    document.addEventListener('submit', (e) => {
      submits.push((e.target as HTMLElement).id)
      e.preventDefault()
    })
    choose([new File(['x'.repeat(1000)], 'big.bin')])
    c.emit({ u: 'docs', ok: [[1, 1]], c: 10, auto: true })
    const pic = root.querySelector('#other input') as HTMLInputElement
    Object.defineProperty(pic, 'files', { value: [new File(['p'.repeat(20)], 'p.png')], configurable: true })
    pic.dispatchEvent(new Event('change', { bubbles: true }))
    c.emit({ u: 'pics', ok: [[2, 2]], c: 10, auto: false })
    ;(root.querySelector('#other') as HTMLFormElement).requestSubmit()
    for (let i = 0; i < 4; i++) {
      await settle()
      c.ackAll()
    }
    await settle()
    // Held for its file, then submitted for real: the documents are still arriving.
    expect(submits).toEqual(['other', 'other'])
    expect(c.chunks.filter((x) => x.id === 2).length).toBe(2)
    expect(c.chunks.filter((x) => x.id === 1).length).toBeLessThan(100)
  })

  it('stops an entry the server stopped, and on an error reply', async () => {
    choose([new File(['x'.repeat(100)], 'a.bin'), new File(['y'.repeat(100)], 'b.bin')])
    c.emit({ u: 'docs', ok: [[1, 1], [2, 2]], c: 10, auto: true })
    await settle()
    c.emit({ stop: 1 })
    c.ackAll()
    await settle()
    const ids = c.chunks.slice(WINDOW).map((x) => x.id)
    expect(ids.length).toBeGreaterThan(0)
    expect(ids.every((id) => id === 2)).toBe(true)
    c.ackAll('size_mismatch')
    await settle()
    const n = c.chunks.length
    c.ackAll()
    await settle()
    expect(c.chunks.length).toBe(n)
  })

  it('keeps chunks within the page\'s frame limit', async () => {
    c.max = 13
    choose([new File(['x'.repeat(20)], 'a.bin')])
    c.emit({ u: 'docs', ok: [[1, 1]], c: 65528, auto: true })
    await settle()
    expect(c.chunks.map((x) => x.bytes.length)).toEqual([5, 5, 5, 5])
  })

  it('drops entries of an earlier connection', async () => {
    choose([new File(['x'.repeat(100)], 'a.bin')])
    c.emit({ u: 'docs', ok: [[1, 1]], c: 10, auto: false })
    c.opened = 2
    root.querySelector('form')!.requestSubmit()
    await settle()
    expect(c.chunks).toEqual([])
  })

  it('takes dropped files for the drop target\'s upload', () => {
    const drop = new Event('drop', { bubbles: true, cancelable: true }) as any
    drop.dataTransfer = { files: [new File(['1'], 'd.txt')] }
    root.querySelector('#drop')!.dispatchEvent(drop)
    expect(drop.defaultPrevented).toBe(true)
    expect(c.pushes[0][1].files[0].name).toBe('d.txt')
  })
})

describe('Client.chunk', () => {
  it('sends [ref][id][bytes] big-endian as one binary frame and settles on the reply', () => {
    document.body.innerHTML = '<div data-lvt-root id="r"></div>'
    FakeWS.all = []
    const client = new Client(document.getElementById('r')!, { WebSocket: FakeWS, url: () => 'ws://t/p' })
    client.connect()
    const ws = FakeWS.last.accept()
    ws.recv({ v: 2, s: { a: [''] }, t: { s: 'a' } })
    let done: string | undefined = 'pending'
    const r = client.chunk(0x01020304, new Uint8Array([9, 8]), (e) => (done = e))
    const buf = ws.sent.at(-1) as Uint8Array
    const v = new DataView(buf.buffer)
    expect([v.getUint32(0), v.getUint32(4), buf[8], buf[9], buf.length]).toEqual([r, 0x01020304, 9, 8, 10])
    ws.recv({ r })
    expect(done).toBeUndefined()
    client.sock.stop()
  })
})
