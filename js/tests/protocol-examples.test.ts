// The example frames of docs/protocol.md, fed through the client: the DOM must show what the
// server's template renders for the same state.
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, expect, it, vi } from 'vitest'
import { Client } from '../src/client'
import { FakeWS } from './fake'

const doc = readFileSync(resolve(dirname(fileURLToPath(import.meta.url)), '../../docs/protocol.md'), 'utf8')
const examples = doc.slice(doc.indexOf('### Examples'))
// Every ```json block of the examples section, in order.
const frames = [...examples.matchAll(/```json\n(.*)\n```/g)].map((m) => JSON.parse(m[1]))

let client: Client
afterEach(() => {
  client.sock.stop()
  vi.restoreAllMocks()
})

const page = (count: number, todos: string[]) =>
  `<p>Count: ${count}</p>${count > 1 ? '<b>many</b>' : ''}<ul>${todos.map((t) => `<li data-key="${t}">${t}</li>`).join('')}</ul>`

it('renders the protocol examples exactly', () => {
  expect(frames.length).toBeGreaterThanOrEqual(10)
  document.body.innerHTML = '<div data-lvt-root id="root"></div>'
  const root = document.getElementById('root')!
  FakeWS.all = []
  client = new Client(root, { WebSocket: FakeWS, url: () => 'ws://t/test' })
  client.connect()
  const ws = FakeWS.last.accept()
  const errors: string[] = []
  root.addEventListener('lvt:error', (e) => errors.push((e as CustomEvent).detail.message))

  const [first, inc1, inc2, add, reverse, fail, internal, remount, unknown, malformed] = frames
  ws.recv(first)
  expect(root.innerHTML).toBe(page(0, ['milk', 'eggs']))
  ws.recv(inc1)
  expect(root.innerHTML).toBe(page(1, ['milk', 'eggs']))
  ws.recv(inc2)
  expect(root.innerHTML).toBe(page(2, ['milk', 'eggs']))
  const milk = root.querySelector('li[data-key=milk]')
  ws.recv(add)
  expect(root.innerHTML).toBe(page(2, ['milk', 'tea', 'eggs']))
  ws.recv(reverse)
  expect(root.innerHTML).toBe(page(2, ['eggs', 'tea', 'milk']))
  expect(root.querySelector('li[data-key=milk]')).toBe(milk)
  ws.recv(fail)
  expect(root.classList.contains('lvt-error')).toBe(true)
  ws.recv(internal)
  expect(root.innerHTML).toBe(page(2, ['eggs', 'tea', 'milk']))
  // A panic: the page mounted again, its whole tree replaces the client's, and the error shows.
  ws.recv(remount)
  expect(root.innerHTML).toBe(page(0, ['milk', 'eggs']))
  ws.recv(unknown)
  ws.recv(malformed)
  expect(errors).toEqual([fail.e, internal.e, remount.e, unknown.e, malformed.e])
  expect(root.innerHTML).toBe(page(0, ['milk', 'eggs']))
  expect(ws.closed).toBe(false)
})

/**
 * The frames of section `### name` of docs/protocol.md (every line of its ```json blocks that is
 * a frame: a JSON object with a version or a ref); null when the doc has no such section.
 */
const section = (name: string) => {
  const at = doc.indexOf('### ' + name + '\n')
  if (at < 0) return null
  const rest = doc.slice(at + 5 + name.length)
  const text = rest.slice(0, rest.search(/\n##/))
  return [...text.matchAll(/```json\n([\s\S]*?)\n```/g)]
    .flatMap((m) => m[1].split('\n'))
    .map((line) => {
      try {
        return JSON.parse(line)
      } catch {
        return null
      }
    })
    .filter((f) => f && (f.v != null || f.r != null))
}

/** A client on a fake socket, fed `frames` one by one; `check(i)` runs after each. */
function feed(frames: object[], check: (i: number, root: HTMLElement) => void) {
  document.body.innerHTML = '<div data-lvt-root id="root"></div>'
  const root = document.getElementById('root')!
  FakeWS.all = []
  client = new Client(root, { WebSocket: FakeWS, url: () => 'ws://t/test' })
  client.connect()
  const ws = FakeWS.last.accept()
  frames.forEach((f, i) => {
    ws.recv(f)
    check(i, root)
  })
  expect(ws.closed).toBe(false)
}

// The sections the server's side writes (asserted there by protocol_examples.rs); skipped
// while the doc has none.
const components = section('Components')
it.skipIf(!components)('renders the components examples exactly', () => {
  const want = [
    ['Total: 0', 'A: 0'],
    ['Total: 0', 'A: 1'],
    ['Total: 2', 'A: 2'],
    ['Total: 2', 'B: 2'],
  ].map(([t, b]) => `<h1>${t}</h1><div lvt-component="a"><button name="inc">${b}</button></div>`)
  expect(components!.length).toBe(want.length)
  feed(components!, (i, root) => expect(root.innerHTML, `after frame ${i}`).toBe(want[i]))
})

const streams = section('Streams')
it.skipIf(!streams)('renders the streams examples exactly', () => {
  const want = [
    [['m-1', 'hi'], ['m-2', 'yo']],
    [['m-3', 'first!'], ['m-1', 'hi'], ['m-2', 'yo']],
    [['m-3', 'first!'], ['m-1', 'hi'], ['m-2', 'yo!']],
    [['m-3', 'first!'], ['m-2', 'yo!']],
    [['m-9', 'new']],
  ].map((items) => `<ul>${items.map(([id, t]) => `<li id="${id}">${t}</li>`).join('')}</ul>`)
  expect(streams!.length).toBe(want.length)
  feed(streams!, (i, root) => expect(root.innerHTML, `after frame ${i}`).toBe(want[i]))
})
