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
