// The layers of src/ (DESIGN.md): schema → model → plan are pure; effects are thin adapters;
// lifecycle runs plans through effects; cli maps flags and prints. `npm run lint:deps` checks them.
/** A pure floor imports nothing above it. */
function floor(name, above) {
  return {
    name: `${name}-looks-down`,
    comment: `${name}/ is below ${above.split('|').join(', ')}`,
    severity: 'error',
    from: { path: `^src/${name}/` },
    to: { path: `^src/(${above})/` },
  };
}

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'nothing-below-cli-imports-cli',
      severity: 'error',
      from: { path: '^src/(?!cli/)', pathNot: '^src/(main|bin|bin-status)\.ts$' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'cli-reaches-the-host-through-workflows',
      comment:
        'a command maps flags to a request, calls a workflow (lifecycle/) with a view and prints: it never touches Docker, files or processes itself',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/effects/' },
    },
    {
      name: 'effects-take-no-policy',
      comment: 'adapters do what they are told: plans, judgements and workflows are handed to them',
      severity: 'error',
      from: { path: '^src/effects/' },
      to: { path: '^src/(plan|lifecycle|preflight|import|ui)/' },
    },
    {
      name: 'pure-layers-stay-pure',
      comment:
        'schema, model, host, generate, health, plan, preflight and import compute; they never reach the host',
      severity: 'error',
      from: { path: '^src/(schema|model|host|plan|generate|health|preflight|import)/' },
      to: { path: '^src/(effects|lifecycle|ui)/' },
    },
    // The pure floors, bottom up (docs/architecture.md): each imports only the floors below it.
    floor('schema', 'model|host|generate|health|plan|preflight|import'),
    floor('model', 'host|generate|health|plan|preflight|import'),
    floor('host', 'generate|health|plan|preflight|import'),
    floor('generate', 'health|plan|preflight|import'),
    floor('health', 'generate|plan|preflight|import'),
    floor('plan', 'preflight|import'),
    floor('preflight', 'import'),
    {
      name: 'ui-renders-only',
      comment: 'terminal helpers know nothing of stacks: they format what they are given',
      severity: 'error',
      from: { path: '^src/ui/' },
      to: { path: '^src/(schema|model|host|generate|health|plan|preflight|import|effects|lifecycle)/' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
