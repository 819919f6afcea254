// Bundles the client into the one file the Rust server serves at /_lvt/client.js.
// tests/bundle.test.ts rebuilds with these same options and fails when the checked-in file is stale.
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

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

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await build({ ...options, outfile })
}
