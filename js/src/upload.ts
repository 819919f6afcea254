//! File uploads: files chosen in an `lvt-upload` input or dropped on an `lvt-drop-target` are
//! named to the server first (name, size, type: `lvt:upload`); the server answers which it
//! accepts (event `lvt:upload`, `{u, ok: [[key, id]], c, auto}`) and the template shows every
//! entry with its errors. Accepted files go as binary chunks of `c` bytes, at most WINDOW
//! unanswered at a time so the page's other events never wait behind a whole file: at once
//! with `auto`, else when their form is submitted (the submit then waits for them). Progress
//! is the server's: it re-renders the entries as bytes arrive.

import { DROP_TARGET, UPLOAD, has } from './constants'

/** What uploads need of the client. */
export interface Uploader {
  readonly open: boolean
  /** Connections that opened so far: entries belong to the connection that accepted them. */
  readonly opened: number
  /** The server's frame limit (`data-lvt-max-frame`): a chunk and its 8-byte header fit in it. */
  readonly max: number
  push(action: string, data: any, els: Element[], ev: string): number
  chunk(id: number, bytes: Uint8Array, done: (error?: string) => void): number
  on(name: string, cb: (p: any) => void): unknown
}

/** Chunks sent and not yet answered, across all entries. */
export const WINDOW = 4

interface Entry {
  id: number
  u: string
  file: File
  /** Bytes handed to the socket so far. */
  at: number
  /** Bytes acknowledged. */
  acked: number
  c: number
  go: boolean
  conn: number
  stop?: boolean
}

/** Installs upload handling on the live region `root`. */
export function uploads(root: HTMLElement, c: Uploader): void {
  let key = 0
  let flying = 0
  let pumping = false
  const chosen = new Map<number, [string, File]>()
  let queue: Entry[] = []
  /** Submits waiting for their form's entries. */
  let waits: Array<[Entry[], () => void]> = []

  const choose = (u: string | null, files: FileList | null) => {
    if (!u || !files || !files.length || !c.open) return
    const list = Array.from(files).map((f) => {
      chosen.set(++key, [u, f])
      return { k: key, name: f.name, size: f.size, type: f.type }
    })
    c.push('lvt:upload', { name: u, files: list }, [], '')
  }

  const live = () => (queue = queue.filter((e) => !e.stop && e.acked < e.file.size && e.conn === c.opened))

  const settle = () => {
    live()
    const ready = waits.filter(([es]) => !es.some((e) => queue.indexOf(e) >= 0))
    waits = waits.filter((w) => ready.indexOf(w) < 0)
    ready.forEach((w) => w[1]())
  }

  const pump = async () => {
    if (pumping) return
    pumping = true
    try {
      for (let e; flying < WINDOW && (e = live().find((e) => e.go && e.at < e.file.size)); ) {
        const entry = e
        // Round robin: a file chosen later is not held up behind a big one.
        queue.splice(queue.indexOf(entry), 1)
        queue.push(entry)
        const start = entry.at
        entry.at = Math.min(entry.file.size, start + entry.c)
        const bytes = new Uint8Array(await entry.file.slice(start, entry.at).arrayBuffer())
        if (entry.stop) continue
        flying++
        const sent = c.chunk(entry.id, bytes, (err) => {
          flying--
          if (err) entry.stop = true
          else entry.acked += bytes.length
          settle()
          pump()
        })
        if (!sent) {
          flying--
          entry.stop = true
        }
      }
    } finally {
      pumping = false
      settle()
    }
  }

  c.on('lvt:upload', (p) => {
    if (p.stop) queue.forEach((e) => e.id === p.stop && (e.stop = true))
    if (!p.ok) return settle()
    for (const [k, id] of p.ok) {
      const f = chosen.get(k)
      if (f) queue.push({ id, u: p.u, file: f[1], at: 0, acked: 0, c: Math.max(1, Math.min(p.c, c.max - 8)), go: p.auto, conn: c.opened })
    }
    chosen.forEach((f, k) => f[0] === p.u && chosen.delete(k))
    pump()
  })

  root.addEventListener('change', (e) => {
    const el = e.target as HTMLInputElement
    if (!el.hasAttribute?.(UPLOAD) || !c.open) return
    choose(el.getAttribute(UPLOAD), el.files)
    // The files are held here now; choosing the same file again must fire `change` again.
    el.value = ''
  })

  root.addEventListener('dragover', (e) => {
    if ((e.target as Element).closest?.(has(DROP_TARGET))) e.preventDefault()
  })
  root.addEventListener('drop', (e) => {
    const t = (e.target as Element).closest?.(has(DROP_TARGET))
    if (!t) return
    e.preventDefault()
    choose(t.getAttribute(DROP_TARGET), e.dataTransfer && e.dataTransfer.files)
  })

  // A form with uploads still to send: send them, then submit it for real (capture: before the
  // form binding sends the submit action).
  root.addEventListener(
    'submit',
    (e: SubmitEvent) => {
      const form = e.target as HTMLFormElement
      if (!c.open) return
      const names = Array.from(form.querySelectorAll(has(UPLOAD))).map((i) => i.getAttribute(UPLOAD))
      const todo = live().filter((x) => names.indexOf(x.u) >= 0)
      if (!todo.length) return
      e.preventDefault()
      todo.forEach((x) => (x.go = true))
      const by = e.submitter as HTMLElement | null
      waits.push([todo, () => form.requestSubmit(by && form.contains(by) ? by : undefined)])
      pump()
    },
    true,
  )
}
