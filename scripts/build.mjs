// Bundles src/ into dist/bin.js: one file Node loads fast (no module resolution across node_modules).
import { rmSync } from 'node:fs';
import { build } from 'esbuild';
import { generateAll } from './generate-sources.mjs';
import { lazySsh2, optionalNativeAddons, withoutBuildkitSession } from './esbuild-plugins.mjs';

await generateAll();
// Chunk names carry content hashes: clear the old ones so dist/ holds only what bin.js loads.
rmSync('dist/chunks', { recursive: true, force: true });

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
  minify: true,
  // Names kept: errors and stack traces name the functions they came from.
  keepNames: true,
  logLevel: 'warning',
  plugins: [optionalNativeAddons, withoutBuildkitSession, lazySsh2],
  // CommonJS dependencies bundled into ESM still use require(), __dirname and __filename.
  banner: {
    js: [
      "import { createRequire as __stackctlCreateRequire } from 'node:module';",
      "import { fileURLToPath as __stackctlFileURLToPath } from 'node:url';",
      "import { dirname as __stackctlDirname } from 'node:path';",
      'const require = __stackctlCreateRequire(import.meta.url);',
      'const __filename = __stackctlFileURLToPath(import.meta.url);',
      'const __dirname = __stackctlDirname(__filename);',
    ].join(' '),
  },
});
