// Bundles the client into the one file the Rust server serves at /_lvt/client.js: esbuild
// bundles and minifies, terser compresses further (about 5 % smaller gzipped).
// tests/bundle.test.ts rebuilds with `bundle()` and fails when the checked-in file is stale.
import { build } from 'esbuild'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { minify } from 'terser'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))

export const outfile = here('../crates/livetemplate-hyper/assets/client.js')

/** @type {import('esbuild').BuildOptions} */
export const options = {
  entryPoints: [here('src/index.ts')],
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  platform: 'browser',
  charset: 'utf8',
  legalComments: 'none',
  logLevel: 'warning',
}

/** The bundle's text. */
export async function bundle() {
  const out = await build({ ...options, write: false })
  const min = await minify(out.outputFiles[0].text, { ecma: 2020, compress: { passes: 2 }, format: { comments: false } })
  return min.code + '\n'
}

if (process.argv[1] === fileURLToPath(import.meta.url)) writeFileSync(outfile, await bundle())
