// Bundles src/ into dist/stackctl.cjs: one CommonJS file that bin/stackctl compiles with V8's code
// cache (Node 20 has no compile cache for ES modules, and compiling is most of a short command's
// start). Modules reached only through a dynamic import() run when first imported, not at load.
// Beside it, dist/stackctl-help.cjs: the same entry without any command's action (a sixteenth of
// the size), which bin/stackctl runs for what only prints help or the version; and
// dist/stackctl-status.cjs, the quick path of `status` alone (src/bin-status.ts).
import { rmSync } from 'node:fs';
import { build } from 'esbuild';
import { generateAll } from './generate-sources.mjs';
import {
  lazyCommanderChildProcess,
  lazySsh2,
  helpOnly,
  optionalNativeAddons,
  statusOnly,
  withoutBuildkitSession,
} from './esbuild-plugins.mjs';

await generateAll();
// The ES module bundle of earlier builds (bin.js and its chunks) is no longer loaded.
for (const stale of ['dist/chunks', 'dist/bin.js', 'dist/bin.js.map'])
  rmSync(stale, { recursive: true, force: true });

const common = {
  entryPoints: ['src/bin.ts'],
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
};

// Written first: bin/stackctl keys its code cache on the full bundle, written last by the same build.
const help = await build({
  ...common,
  outfile: 'dist/stackctl-help.cjs',
  metafile: true,
  plugins: [helpOnly, lazyCommanderChildProcess],
});
const actions = Object.keys(help.metafile.inputs).filter((input) => input.startsWith('src/cli/actions/'));
if (actions.length > 0)
  throw new Error(`the help bundle must hold no command's action, yet holds ${actions.join(', ')}`);

const status = await build({
  ...common,
  entryPoints: ['src/bin-status.ts'],
  outfile: 'dist/stackctl-status.cjs',
  metafile: true,
  plugins: [statusOnly],
});
const beyondStatus = Object.keys(status.metafile.inputs).filter(
  (input) => input === 'src/cli/program.ts' || /^src\/cli\/actions\/(?!status\.ts$)/.test(input),
);
if (beyondStatus.length > 0)
  throw new Error(
    `the status bundle must hold the quick status path alone, yet holds ${beyondStatus.join(', ')}`,
  );

await build({
  ...common,
  outfile: 'dist/stackctl.cjs',
  plugins: [optionalNativeAddons, withoutBuildkitSession, lazySsh2, lazyCommanderChildProcess],
  // Large packages only a few commands use (S3 backups, ssh:// Docker hosts, memory probes) stay in
  // node_modules, required on first use: the file every command reads and compiles stays half the size.
  // nunjucks only needs chokidar to watch template folders, which stackctl never does.
  external: ['chokidar', 'ssh2', 'systeminformation', '@aws-sdk/*', '@smithy/*'],
});
