import { beforeEach, describe, expect, it, vi } from 'vitest'
import { morph, recordFields } from '../src/morph'

let root: HTMLElement
const $ = <T extends Element = HTMLInputElement>(sel: string) => root.querySelector(sel) as unknown as T

function mount(html: string) {
  document.body.innerHTML = `<div data-lvt-root id="root">${html}</div>`
  root = document.getElementById('root')!
  recordFields(root)
}

beforeEach(() => {
  document.body.innerHTML = ''
})

describe('morph', () => {
  it('updates the DOM in place, keeping unchanged nodes', () => {
    mount('<p>Counter: <strong>1</strong></p><button name="inc">+</button>')
    const btn = $('button')
    morph(root, '<p>Counter: <strong>2</strong></p><button name="inc">+</button>')
    expect(root.innerHTML).toBe('<p>Counter: <strong>2</strong></p><button name="inc">+</button>')
    expect($('button')).toBe(btn)
  })

  it('keeps the focused input value and selection against a server change', () => {
    mount('<form><input name="q" value="a"></form><p>0</p>')
    const q = $('input')
    q.focus()
    q.value = 'hello'
    q.setSelectionRange(2, 4)
    morph(root, '<form><input name="q" value="server"></form><p>1</p>')
    expect($('input')).toBe(q)
    expect(q.value).toBe('hello')
    expect(document.activeElement).toBe(q)
    expect([q.selectionStart, q.selectionEnd]).toEqual([2, 4])
    expect($('p').textContent).toBe('1')
  })

  it('gives an unfocused field of a plain form the server value', () => {
    mount('<form><input name="q" value="a"></form>')
    const q = $('input')
    q.value = 'typed'
    morph(root, '<form><input name="q" value="b"></form>')
    expect(q.value).toBe('b')
  })

  it('gives the fields of a just-submitted form the server values, focused or not', () => {
    mount('<form><input name="msg" value=""></form>')
    const q = $('input')
    q.focus()
    q.value = 'sent text'
    morph(root, '<form><input name="msg" value=""></form>', { submitted: $('form') })
    expect(q.value).toBe('')
    expect(document.activeElement).toBe(q)
  })

  describe('lvt-form:preserve', () => {
    const page = (counter: number, notes: string) =>
      `<p>Counter: ${counter}</p><form method="POST"><button name="increment">Increment</button></form>` +
      `<form method="POST" lvt-form:preserve><textarea name="notes">${notes}</textarea>` +
      `<input type="checkbox" name="pin" value="1"><select name="c"><option>a</option><option>b</option></select>` +
      `<button name="saveNotes">Save</button></form>`

    it('keeps a draft the user is editing when another action re-renders', () => {
      mount(page(0, 'saved'))
      const ta = $<HTMLTextAreaElement>('textarea')
      ta.focus()
      ta.value = 'draft in progress'
      ta.setSelectionRange(5, 5)
      $<HTMLButtonElement>('button[name=increment]').focus() // the user clicks Increment
      $('input[name=pin]').checked = true
      $<HTMLSelectElement>('select').value = 'b'
      morph(root, page(1, 'saved'))
      morph(root, page(2, 'saved'))
      expect($('p').textContent).toBe('Counter: 2')
      expect(ta.value).toBe('draft in progress')
      expect($('input[name=pin]').checked).toBe(true)
      expect($<HTMLSelectElement>('select').value).toBe('b')
    })

    it('takes server values for fields the user has not touched', () => {
      mount(page(0, 'v1'))
      morph(root, page(0, 'v2'))
      expect($<HTMLTextAreaElement>('textarea').value).toBe('v2')
      morph(root, page(0, 'v3'))
      expect($<HTMLTextAreaElement>('textarea').value).toBe('v3')
    })

    it('stops preserving once the server has the draft (after save)', () => {
      mount(page(0, 'old'))
      const ta = $<HTMLTextAreaElement>('textarea')
      ta.value = 'new notes'
      morph(root, page(0, 'new notes'), { submitted: ta.form })
      expect(ta.value).toBe('new notes')
      morph(root, page(0, 'changed elsewhere'))
      expect(ta.value).toBe('changed elsewhere')
    })

    it('lets the submit reply of the preserved form win', () => {
      mount(page(0, 'old'))
      const ta = $<HTMLTextAreaElement>('textarea')
      ta.value = '  spaced  '
      morph(root, page(0, 'spaced'), { submitted: ta.form })
      expect(ta.value).toBe('spaced')
    })
  })

  it('lvt-update="ignore" keeps the content but updates the attributes', () => {
    mount('<div id="map" lvt-update="ignore" class="a"><canvas></canvas></div><p>1</p>')
    morph(root, '<div id="map" lvt-update="ignore" class="b">server</div><p>2</p>')
    expect($('#map').innerHTML).toBe('<canvas></canvas>')
    expect($('#map').className).toBe('b')
    expect($('p').textContent).toBe('2')
  })

  it('lvt-update="append" keeps old children, updates resent ones, appends new ones', () => {
    mount('<ul lvt-update="append"><li id="m1">one</li><li id="m2">two</li></ul>')
    const m1 = $('#m1')
    morph(root, '<ul lvt-update="append"><li id="m2">two!</li><li id="m3">three</li></ul>')
    expect($('ul').innerHTML).toBe('<li id="m1">one</li><li id="m2">two!</li><li id="m3">three</li>')
    expect($('#m1')).toBe(m1)
  })

  it('lvt-update="prepend" puts new children first', () => {
    mount('<ul lvt-update="prepend"><li data-key="1">one</li></ul>')
    morph(root, '<ul lvt-update="prepend"><li data-key="3">three</li><li data-key="2">two</li></ul>')
    expect($('ul').innerHTML).toBe('<li data-key="3">three</li><li data-key="2">two</li><li data-key="1">one</li>')
  })

  it('keyed rows keep their identity across moves', () => {
    mount('<table><tbody><tr data-key="a"><td>A</td></tr><tr data-key="b"><td>B</td></tr><tr data-key="c"><td>C</td></tr></tbody></table>')
    const [a, b, c] = Array.from(root.querySelectorAll('tr'))
    morph(root, '<table><tbody><tr data-key="c"><td>C</td></tr><tr data-key="a"><td>A</td></tr><tr data-key="b"><td>B2</td></tr></tbody></table>')
    expect(Array.from(root.querySelectorAll('tr'))).toEqual([c, a, b])
    expect(b.textContent).toBe('B2')
  })

  it('two lists that share data-key values do not steal each other\'s rows', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const list = (cls: string, keys: string[]) => `<ul class="${cls}">${keys.map((k) => `<li data-key="${k}">${cls}${k}</li>`).join('')}</ul>`
    mount(list('x', ['1', '2']) + list('y', ['1', '2']))
    morph(root, list('x', ['2']) + list('y', ['1', '2']))
    expect(root.innerHTML).toBe(list('x', ['2']) + list('y', ['1', '2']))
    morph(root, list('x', ['2', '1']) + list('y', ['2']))
    expect(root.innerHTML).toBe(list('x', ['2', '1']) + list('y', ['2']))
    expect(warn).toHaveBeenCalledTimes(1)
    warn.mockRestore()
  })

  it('lists in containers with ids keep row identity even with equal data-keys', () => {
    const list = (id: string, keys: string[]) => `<ul id="${id}">${keys.map((k) => `<li data-key="${k}">${id}${k}</li>`).join('')}</ul>`
    mount(list('x', ['1', '2']) + list('y', ['1', '2']))
    const [x1, x2] = Array.from($('#x').children)
    const [y1, y2] = Array.from($('#y').children)
    morph(root, list('x', ['2', '1']) + list('y', ['2']))
    expect(root.innerHTML).toBe(list('x', ['2', '1']) + list('y', ['2']))
    expect(Array.from($('#x').children)).toEqual([x2, x1])
    expect(Array.from($('#y').children)).toEqual([y2])
    expect(y1.isConnected).toBe(false)
  })

  it('nested keyed lists are scoped by their parents\' keys', () => {
    const cat = (c: string, items: string[]) => `<section data-key="${c}">${items.map((i) => `<p data-key="${i}">${c}${i}</p>`).join('')}</section>`
    mount(cat('a', ['1', '2']) + cat('b', ['1', '2']))
    const b1 = root.querySelectorAll('section')[1].querySelector('p')!
    morph(root, cat('a', ['2']) + cat('b', ['2', '1']))
    expect(root.innerHTML).toBe(cat('a', ['2']) + cat('b', ['2', '1']))
    expect(root.querySelectorAll('section')[1].querySelectorAll('p')[1]).toBe(b1)
  })

  describe('lvt-fx:scroll', () => {
    const box = (mode: string, n: number) =>
      `<div id="log" lvt-fx:scroll="${mode}">${Array.from({ length: n }, (_, i) => `<p>${i}</p>`).join('')}</div>`
    const fakeLayout = (el: HTMLElement, height: number) => {
      Object.defineProperty(el, 'scrollHeight', { configurable: true, get: () => height })
      Object.defineProperty(el, 'clientHeight', { configurable: true, get: () => 100 })
    }

    it('bottom scrolls to the end after every update', () => {
      mount(box('bottom', 1))
      const log = $<HTMLElement>('#log')
      fakeLayout(log, 500)
      log.scrollTop = 10
      morph(root, box('bottom', 2))
      expect(log.scrollTop).toBe(500)
    })

    it('bottom-sticky follows only when the user was at the bottom', () => {
      mount(box('bottom-sticky', 1))
      const log = $<HTMLElement>('#log')
      fakeLayout(log, 500)
      log.scrollTop = 400
      fakeLayout(log, 600)
      Object.defineProperty(log, 'scrollHeight', { configurable: true, get: () => 500 })
      morph(root, box('bottom-sticky', 2))
      expect(log.scrollTop).toBe(500)
      log.scrollTop = 100 // the user scrolled up to read
      morph(root, box('bottom-sticky', 3))
      expect(log.scrollTop).toBe(100)
    })

    it('top and preserve', () => {
      mount(box('top', 1) .replace('id="log"', 'id="t"') + box('preserve', 1))
      const t = $<HTMLElement>('#t')
      const p = $<HTMLElement>('#log')
      t.scrollTop = 50
      p.scrollTop = 70
      morph(root, box('top', 2).replace('id="log"', 'id="t"') + box('preserve', 2))
      expect(t.scrollTop).toBe(0)
      expect(p.scrollTop).toBe(70)
    })
  })
})

describe('drafts restored by the browser before the client ran', () => {
  it('count as edits in a preserve form', () => {
    document.body.innerHTML =
      '<div data-lvt-root id="root"><form lvt-form:preserve><input name="a" value="server"><select name="s"><option>x</option><option>y</option></select></form></div>'
    root = document.getElementById('root')!
    $('input').value = 'restored draft' // e.g. Firefox form restoration on reload
    $<HTMLSelectElement>('select').value = 'y'
    recordFields(root)
    morph(root, '<form lvt-form:preserve><input name="a" value="server"><select name="s"><option>x</option><option>y</option></select></form>')
    expect($('input').value).toBe('restored draft')
    expect($<HTMLSelectElement>('select').value).toBe('y')
  })
})

describe('the focused field', () => {
  it('keeps typed text but not a checkbox, radio or plain select state', () => {
    const html = (c: boolean) =>
      `<form><input name="t" value="s"><input type="checkbox" name="c"${c ? ' checked' : ''}>` +
      `<input type="radio" name="r" value="a" checked><input type="radio" name="r" value="b">` +
      `<select name="s"><option>x</option><option>y</option></select></form>`
    mount(html(false))
    const cb = $('input[name=c]')
    cb.checked = true
    cb.focus()
    morph(root, html(false))
    expect(cb.checked).toBe(false)
    $('input[value=b]').checked = true
    $('input[value=b]').focus()
    morph(root, html(false))
    expect($('input[value=a]').checked).toBe(true)
    const s = $<HTMLSelectElement>('select')
    s.value = 'y'
    s.focus()
    morph(root, html(false))
    expect(s.value).toBe('x')
    const t = $('input[name=t]')
    t.value = 'typed'
    t.focus()
    morph(root, html(true))
    expect(t.value).toBe('typed')
    expect(cb.checked).toBe(true)
  })

  it('keeps a select choice inside an lvt-form:preserve form', () => {
    const html = '<form lvt-form:preserve><select name="s"><option>x</option><option>y</option></select></form>'
    mount(html)
    const s = $<HTMLSelectElement>('select')
    s.value = 'y'
    s.focus()
    morph(root, html)
    expect(s.value).toBe('y')
  })

  it('drafts: keeps edited fields anywhere, except lvt-click checkboxes', () => {
    const html = '<form><input name="t" value="s"><input type="checkbox" name="c"></form><input type="checkbox" lvt-click="x">'
    mount(html)
    $('input[name=t]').value = 'typed'
    $('input[name=c]').checked = true
    $('input[lvt-click]').checked = true
    morph(root, html, { drafts: true })
    expect($('input[name=t]').value).toBe('typed')
    expect($('input[name=c]').checked).toBe(true)
    expect($('input[lvt-click]').checked).toBe(false)
  })
})
