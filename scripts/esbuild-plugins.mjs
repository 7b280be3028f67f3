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
