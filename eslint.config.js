// @ts-check
import js from '@eslint/js';
import n from 'eslint-plugin-n';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Modules that must stay pure: no filesystem, processes, Docker or host probes. */
const PURE_FOLDERS = ['src/schema/**', 'src/model/**', 'src/plan/**', 'src/generate/**', 'src/preflight/**'];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'test/fixtures/**',
      'src/schema/generated/**',
      '.dependency-cruiser.cjs',
    ],
  },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ['*.js', '*.mjs', 'scripts/*.mjs', 'bench/*.mjs'],
          // The build scripts and benchmarks: a dozen small files.
          maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: 16,
        },
      },
    },
    plugins: { n },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      'n/prefer-node-protocol': 'error',
      'n/no-process-exit': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' },
      ],
    },
  },
  {
    // A file a newcomer can hold in their head (docs/architecture.md): one over these says why at
    // its top, with an eslint-disable comment giving the reason.
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 500, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['error', { max: 120, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: PURE_FOLDERS,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            'node:fs',
            'node:fs/promises',
            'node:child_process',
            'execa',
            'dockerode',
            'systeminformation',
          ],
        },
      ],
    },
  },
  {
    files: ['src/main.ts', 'scripts/**', 'bench/**', 'test/**'],
    rules: { 'n/no-process-exit': 'off' },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: globals.node },
  },
  {
    // Tools read their configuration from a default export.
    files: ['*.config.js', '*.config.ts', '*.config.mjs'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
