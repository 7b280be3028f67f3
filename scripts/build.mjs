// Bundles src/ into dist/bin.js: one file Node loads fast (no module resolution across node_modules).
import { build } from 'esbuild';
import { generateShapeValidator } from './gen-shape-validator.mjs';

await generateShapeValidator();

await build({
  entryPoints: { bin: 'src/bin.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __stackctlCreateRequire } from 'node:module'; const require = __stackctlCreateRequire(import.meta.url);",
  },
});
