// Bundles src/ into dist/stackctl.cjs: one CommonJS file that bin/stackctl compiles with V8's code
// cache (Node 20 has no compile cache for ES modules, and compiling is most of a short command's
// start). Modules reached only through a dynamic import() run when first imported, not at load.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';
import { generateAll } from './generate-sources.mjs';
import {
  lazyCommanderChildProcess,
  lazySsh2,
  optionalNativeAddons,
  withoutBuildkitSession,
} from './esbuild-plugins.mjs';

await generateAll();
// The ES module bundle of earlier builds (bin.js and its chunks) is no longer loaded.
for (const stale of ['dist/chunks', 'dist/bin.js', 'dist/bin.js.map'])
  rmSync(stale, { recursive: true, force: true });

await build({
  entryPoints: ['src/bin.ts'],
  outfile: 'dist/stackctl.cjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  legalComments: 'none',
  minify: true,
  // Names kept: errors and stack traces name the functions they came from (measured: dropping them
  // saves 1% of the file and no time at the door).
  keepNames: true,
  logLevel: 'warning',
  plugins: [optionalNativeAddons, withoutBuildkitSession, lazySsh2, lazyCommanderChildProcess],
  // Large packages only a few commands use (S3 backups, ssh:// Docker hosts, memory probes) stay in
  // node_modules, required on first use: the file every command reads and compiles stays half the size.
  // nunjucks only needs chokidar to watch template folders, which stackctl never does.
  external: ['chokidar', 'ssh2', 'systeminformation', '@aws-sdk/*', '@smithy/*'],
});
