// The layers of src/ (DESIGN.md): schema → model → plan are pure; effects are thin adapters;
// lifecycle runs plans through effects; cli maps flags and prints. `npm run lint:deps` checks them.
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'nothing-below-cli-imports-cli',
      severity: 'error',
      from: { path: '^src/(?!cli/)', pathNot: '^src/(main|bin|sea-entry)\.ts$' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'effects-take-no-policy',
      comment: 'adapters do what they are told: plans and workflows are handed to them',
      severity: 'error',
      from: { path: '^src/effects/' },
      to: { path: '^src/(plan|lifecycle)/' },
    },
    {
      name: 'pure-layers-stay-pure',
      comment: 'schema, model, plan, generate and health compute; they never reach the host',
      severity: 'error',
      from: { path: '^src/(schema|model|plan|generate|health)/' },
      to: { path: '^src/(effects|lifecycle|ui|preflight)/' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
