import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { backoff, CAP_MS, HEARTBEAT_MS, pageUrl, Socket } from '../src/socket'
import { FakeWS } from './fake'

describe('backoff', () => {
  it('stays within [0, min(10 s, 250 ms * 2^attempt))', () => {
    for (let a = 0; a < 40; a++) {
      const bound = Math.min(CAP_MS, 250 * 2 ** a)
      expect(backoff(a, () => 0)).toBe(0)
      expect(backoff(a, () => 0.999999)).toBeLessThan(bound)
      expect(backoff(a, () => 0.999999)).toBeGreaterThanOrEqual(bound - 1)
      for (let i = 0; i < 50; i++) {
        const d = backoff(a)
        expect(d).toBeGreaterThanOrEqual(0)
        expect(d).toBeLessThan(bound)
      }
    }
  })

  it('is fully jittered, not a fixed schedule', () => {
    const seen = new Set(Array.from({ length: 100 }, () => backoff(6)))
    expect(seen.size).toBeGreaterThan(50)
    const mean = Array.from({ length: 2000 }, () => backoff(10)).reduce((a, b) => a + b) / 2000
    expect(mean).toBeGreaterThan(4000)
    expect(mean).toBeLessThan(6000)
  })
})

describe('pageUrl', () => {
  it('uses the page path and query, ws or wss by scheme', () => {
    expect(pageUrl(new URL('http://h:8080/counter?x=1#f') as unknown as Location)).toBe('ws://h:8080/counter?x=1')
    expect(pageUrl(new URL('https://h/a/b') as unknown as Location)).toBe('wss://h/a/b')
  })
})

describe('Socket', () => {
  let events: string[]
  let frames: any[]
  let closes: unknown[]
  let rnd: number
  const make = () =>
    new Socket({
      url: () => 'ws://test/page',
      WebSocket: FakeWS,
      random: () => rnd,
      open: () => events.push('open'),
      close: (why) => {
        events.push('close')
        closes.push(why)
      },
      frame: (f) => {
        if (f.bad) throw new Error('bad frame')
        frames.push(f)
      },
    })

  beforeEach(() => {
    vi.useFakeTimers()
    vi.spyOn(console, 'error').mockImplementation(() => {})
    FakeWS.all = []
    events = []
    frames = []
    closes = []
    rnd = 0.5
  })
  afterEach(() => {
    vi.useRealTimers()
    vi.restoreAllMocks()
  })

  it('reconnects forever with growing, jittered delays', () => {
    const s = make()
    s.connect()
    expect(FakeWS.all.length).toBe(1)
    expect(FakeWS.last.url).toBe('ws://test/page')
    for (let a = 0; a < 12; a++) {
      FakeWS.last.fail()
      const delay = Math.floor(0.5 * Math.min(CAP_MS, 250 * 2 ** a))
      vi.advanceTimersByTime(delay - 1)
      expect(FakeWS.all.length).toBe(a + 1)
      vi.advanceTimersByTime(1)
      expect(FakeWS.all.length).toBe(a + 2)
    }
    expect(events.filter((e) => e === 'close').length).toBe(12)
  })

  it('resets the backoff after a healthy frame', () => {
    const s = make()
    s.connect()
    for (let i = 0; i < 5; i++) {
      FakeWS.last.fail()
      vi.runOnlyPendingTimers()
    }
    expect(s.attempt).toBe(5)
    FakeWS.last.accept().recv({ v: 1 })
    expect(s.attempt).toBe(0)
    expect(frames).toEqual([{ v: 1 }])
  })

  it('drops the connection when a frame cannot be handled', () => {
    const s = make()
    s.connect()
    const ws = FakeWS.last.accept()
    ws.recv({ bad: 1 })
    expect(ws.closed).toBe(true)
    expect(s.ws).toBe(null)
    expect(events).toEqual(['open', 'close'])
    vi.runOnlyPendingTimers()
    expect(FakeWS.all.length).toBe(2)
  })

  it('tells its owner how the server closed, and reconnects as for any close', () => {
    const s = make()
    s.connect()
    FakeWS.last.accept().fail(1009, 'frame too large')
    expect(closes).toEqual([{ code: 1009, reason: 'frame too large' }])
    vi.runOnlyPendingTimers()
    expect(FakeWS.all.length).toBe(2)
    FakeWS.last.fail()
    expect(closes[1]).toEqual({ code: 1006, reason: '' })
    // A connection the client gave up on itself (unanswered heartbeat) has no close code.
    vi.runOnlyPendingTimers()
    FakeWS.last.accept()
    vi.advanceTimersByTime(2 * HEARTBEAT_MS)
    expect(closes[2]).toBe(undefined)
    expect(closes.length).toBe(3)
  })

  it('sends JSON text as is', () => {
    const s = make()
    s.connect()
    FakeWS.last.accept()
    expect(s.send('{"a":"x","r":1}')).toBe(true)
    expect(FakeWS.last.sent).toEqual([{ a: 'x', r: 1 }])
  })

  it('reconnects at once on online, pageshow and visibilitychange to visible', () => {
    const s = make()
    s.watch(window)
    s.connect()
    rnd = 0.99
    FakeWS.last.fail()
    expect(FakeWS.all.length).toBe(1)
    window.dispatchEvent(new Event('online'))
    expect(FakeWS.all.length).toBe(2)
    // Already connecting: no second socket.
    window.dispatchEvent(new Event('online'))
    expect(FakeWS.all.length).toBe(2)
    FakeWS.last.fail()
    window.dispatchEvent(new Event('pageshow'))
    expect(FakeWS.all.length).toBe(3)
    FakeWS.last.fail()
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true })
    document.dispatchEvent(new Event('visibilitychange'))
    expect(FakeWS.all.length).toBe(3)
    Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true })
    document.dispatchEvent(new Event('visibilitychange'))
    expect(FakeWS.all.length).toBe(4)
    // The retry timer of the failed attempt was cancelled by the immediate connect.
    vi.advanceTimersByTime(CAP_MS)
    expect(FakeWS.all.length).toBe(4)
    s.stop()
  })

  it('sends a heartbeat every 25 s and stays while answered', () => {
    const s = make()
    s.connect()
    const ws = FakeWS.last.accept()
    for (let i = 1; i <= 4; i++) {
      vi.advanceTimersByTime(HEARTBEAT_MS)
      expect(ws.sent.length).toBe(i)
      expect(ws.sent[i - 1]).toEqual({ h: 1 })
      ws.recv({ h: 1 })
    }
    expect(ws.closed).toBe(false)
    expect(s.open).toBe(true)
  })

  it('reconnects when a heartbeat goes unanswered', () => {
    const s = make()
    s.connect()
    const ws = FakeWS.last.accept()
    vi.advanceTimersByTime(HEARTBEAT_MS)
    expect(ws.sent).toEqual([{ h: 1 }])
    vi.advanceTimersByTime(HEARTBEAT_MS)
    expect(ws.closed).toBe(true)
    expect(events).toEqual(['open', 'close'])
    expect(s.open).toBe(false)
    vi.runOnlyPendingTimers()
    expect(FakeWS.all.length).toBe(2)
  })

  it('counts any frame as a sign of life', () => {
    const s = make()
    s.connect()
    const ws = FakeWS.last.accept()
    vi.advanceTimersByTime(HEARTBEAT_MS)
    ws.recv({ d: { '0': 'x' } })
    vi.advanceTimersByTime(HEARTBEAT_MS)
    expect(ws.closed).toBe(false)
    expect(ws.sent).toEqual([{ h: 1 }, { h: 1 }])
  })

  it('does not send while closed and ignores a replaced socket', () => {
    const s = make()
    s.connect()
    expect(s.send({ a: 'x', r: 0 })).toBe(false)
    const first = FakeWS.last
    s.connect()
    expect(first.closed).toBe(true)
    first.fail() // handlers were detached: no close event, no retry
    expect(events).toEqual([])
    FakeWS.last.accept()
    expect(s.send({ a: 'x', r: 1 })).toBe(true)
    expect(FakeWS.last.sent).toEqual([{ a: 'x', r: 1 }])
  })

  it('stop ends reconnecting', () => {
    const s = make()
    s.connect()
    FakeWS.last.accept()
    s.stop()
    vi.advanceTimersByTime(10 * CAP_MS)
    expect(FakeWS.all.length).toBe(1)
  })
})
