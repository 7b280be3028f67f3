import { readFile } from 'node:fs/promises';

// ssh2 (used by dockerode only for ssh:// DOCKER_HOST) loads optional native addons inside
// try/catch and falls back to JavaScript; stub them so the bundle needs no .node files.
export const optionalNativeAddons = {
  name: 'optional-native-addons',
  setup(build) {
    build.onResolve({ filter: /\.node$/ }, (args) => ({ path: args.path, namespace: 'native-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'native-stub' }, () => ({
      contents: 'throw new Error("native addon not bundled; using the JavaScript fallback");',
      loader: 'js',
    }));
  },
};

// dockerode's BuildKit session (gRPC and protobufjs, about half of its load time) serves only
// buildImage({ version: '2' }), which stackctl never calls (images are built by docker compose), and
// it reads a .proto file from beside itself that a bundle would not have anyway. Its BuildKit
// progress decoder (docker.followProgress, protobufjs again) is likewise never called.
const BUILDKIT_STUBS = {
  session:
    'module.exports = function withSession(docker, auth, handler) {' +
    ' handler(new Error("BuildKit sessions are not part of stackctl; build with docker compose"), null, () => undefined); };',
  buildkit:
    'module.exports = { followProgress() { throw new Error("BuildKit progress is not part of stackctl"); } };',
};
export const withoutBuildkitSession = {
  name: 'without-buildkit-session',
  setup(build) {
    build.onResolve({ filter: /^\.\/(session|buildkit)$/ }, (args) =>
      /[\\/]dockerode[\\/]lib$/.test(args.resolveDir)
        ? { path: args.path.slice(2), namespace: 'buildkit-stub' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'buildkit-stub' }, (args) => ({
      contents: BUILDKIT_STUBS[args.path],
      loader: 'js',
    }));
  },
};

// docker-modem loads ssh2 (about a third of dockerode's load time) when it is imported, yet uses it
// only for ssh:// DOCKER_HOST. Load it on first use instead: still bundled, no longer run up front.
export const lazySsh2 = {
  name: 'lazy-ssh2',
  setup(build) {
    build.onLoad({ filter: /docker-modem[\\/]lib[\\/]ssh\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const eager = "var Client = require('ssh2').Client,";
      if (!source.includes(eager)) throw new Error(`${args.path} changed: update the lazy-ssh2 plugin`);
      return {
        contents: source.replace(
          eager,
          "var Client = function () { return new (require('ssh2').Client)(); },",
        ),
        loader: 'js',
      };
    });
  },
};

// commander requires child_process when it loads, yet spawns only for executable subcommands, which
// stackctl has none of: --help and validate need not load it (and net, dgram and tty behind it).
export const lazyCommanderChildProcess = {
  name: 'lazy-commander-child-process',
  setup(build) {
    build.onLoad({ filter: /commander[\\/]lib[\\/]command\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const eager = "const childProcess = require('node:child_process');";
      if (!source.includes(eager))
        throw new Error(`${args.path} changed: update the lazy-commander-child-process plugin`);
      return {
        contents: source.replace(
          eager,
          "const childProcess = { spawn: (...args) => require('node:child_process').spawn(...args) };",
        ),
        loader: 'js',
      };
    });
  },
};

// The help bundle (dist/stackctl-help.cjs) serves the runs that only print: `stackctl`, `--help`,
// `-h`, `help [command]`, `--version`. It keeps the parser and every command's flags and leaves out
// what the commands do: every import() other than the two the help path takes becomes a module that
// refuses to run, so an action reached by mistake fails loudly instead of running half a program.
const HELP_PATH_IMPORTS = new Set(['./cli/program.js', './cli/version-line.js']);
/**
 * The status bundle holds the quick status path alone: every dynamic import (the full program, the
 * paths status takes when the quick one cannot answer) becomes a module that refuses to run, which
 * the quick path takes as "cannot answer" (bin/stackctl then runs the full bundle).
 */
export const statusOnly = {
  name: 'status-only',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: args.path, namespace: 'not-in-status-bundle' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'not-in-status-bundle' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(
        `${args.path} is not in the status bundle: bin/stackctl runs the full bundle when quick status cannot answer`,
      )});`,
      loader: 'js',
    }));
  },
};

export const helpOnly = {
  name: 'help-only',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) =>
      args.kind === 'dynamic-import' && !HELP_PATH_IMPORTS.has(args.path)
        ? { path: args.path, namespace: 'not-in-help-bundle' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'not-in-help-bundle' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(
        `${args.path} is not in the help bundle: bin/stackctl runs every command from dist/stackctl.cjs`,
      )});`,
      loader: 'js',
    }));
  },
};
