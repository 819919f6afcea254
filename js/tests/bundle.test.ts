// @vitest-environment node
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { bundle, outfile } from '../build.mjs'

const LIMIT_GZ = 12 * 1024

describe('checked-in bundle', () => {
  it('is up to date with src/ (else: run npm run build)', async () => {
    const fresh = await bundle()
    let checkedIn = ''
    try {
      checkedIn = readFileSync(outfile, 'utf8')
    } catch {
      /* missing: reported below */
    }
    expect(checkedIn === fresh, 'bundle is stale: run npm run build').toBe(true)
  })

  it(`is at most ${LIMIT_GZ} bytes gzipped`, () => {
    const js = readFileSync(outfile)
    const gz = gzipSync(js, { level: 9 }).length
    expect(gz, `client.js is ${js.length} B minified, ${gz} B gzipped`).toBeLessThanOrEqual(LIMIT_GZ)
  })

  it('is one IIFE that does not leak globals except window.LiveTemplate', () => {
    const js = readFileSync(outfile, 'utf8')
    expect(js.startsWith('"use strict";(()=>{') || js.startsWith('(()=>{')).toBe(true)
    expect(js).toContain('LiveTemplate')
  })
})
