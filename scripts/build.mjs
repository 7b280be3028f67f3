// Bundles src/ into dist/bin.js: one file Node loads fast (no module resolution across node_modules).
import { build } from 'esbuild';
import { generateAll } from './generate-sources.mjs';

await generateAll();

// ssh2 (used by dockerode only for ssh:// DOCKER_HOST) loads optional native addons inside
// try/catch and falls back to JavaScript; stub them so the bundle needs no .node files.
const optionalNativeAddons = {
  name: 'optional-native-addons',
  setup(build) {
    build.onResolve({ filter: /\.node$/ }, (args) => ({ path: args.path, namespace: 'native-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'native-stub' }, () => ({
      contents: 'throw new Error("native addon not bundled; using the JavaScript fallback");',
      loader: 'js',
    }));
  },
};

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
  plugins: [optionalNativeAddons],
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
