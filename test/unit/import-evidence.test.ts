// The importer's reading of conflicting evidence (issue 25): a variable's type from every value seen,
// and setup_secrets.py's per-service copies (.env.d/) compared with the stores.
import { describe, expect, it } from 'vitest';
import { reconcileVariableTypes, type SourceFile } from '../../src/import/convert.js';
import { compareServiceEnvFiles } from '../../src/import/service-env.js';
import type { EnvironmentDef, VariableDef } from '../../src/schema/types.js';

const source: SourceFile = { path: 'schemas/compose-schema.yaml', data: {}, lineOf: () => 3 };
const env = (variables: Record<string, string | number | boolean>): EnvironmentDef =>
  ({ description: 'x', services: ['a'], variables }) as unknown as EnvironmentDef;

describe('reconcileVariableTypes', () => {
  it('types a variable only references name by its values: ${DEBUG:-false} and debug: true is a boolean', () => {
    const variables: Record<string, VariableDef> = {
      DEBUG: { type: 'string', description: 'd', default: 'false' },
    };
    const environments = { development: env({ DEBUG: true }), production: env({ DEBUG: false }) };
    const report = reconcileVariableTypes(variables, environments, new Set(), source);
    expect(variables['DEBUG']).toMatchObject({ type: 'boolean', default: false });
    expect(environments.development.variables?.['DEBUG']).toBe(true);
    expect(report).toHaveLength(0);
  });

  it('keeps a declared string and writes a boolean value as compose reads it, reported', () => {
    const variables: Record<string, VariableDef> = {
      DEBUG: { type: 'string', description: 'd', default: 'false' },
    };
    const environments = { development: env({ DEBUG: true }) };
    const report = reconcileVariableTypes(variables, environments, new Set(['DEBUG']), source);
    expect(variables['DEBUG']?.type).toBe('string');
    expect(environments.development.variables?.['DEBUG']).toBe('true');
    expect(report[0]?.message).toMatch(/DEBUG: declared string, while development set true/);
    expect(report[0]?.action).toMatch(/typed string/);
  });

  it('widens a declared integer that an environment sets to a word, and drops its bounds', () => {
    const variables: Record<string, VariableDef> = {
      WORKERS: { type: 'integer', description: 'w', default: 4, minimum: 1 },
    };
    const environments = { production: env({ WORKERS: 'auto' }) };
    const report = reconcileVariableTypes(variables, environments, new Set(['WORKERS']), source);
    expect(variables['WORKERS']).toEqual({ type: 'string', description: 'w', default: '4' });
    expect(report[0]?.severity).toBe('info');
  });
});

describe('compareServiceEnvFiles', () => {
  const secret = (name: string): boolean => /PASSWORD|_KEY$/.test(name);
  const stores = new Map([
    [
      'development',
      { file: 'secrets/.env.development.json', values: { POSTGRES_PASSWORD: 'a1', API_KEY: 'k1' } },
    ],
    [
      'production',
      { file: 'secrets/.env.production.json', values: { POSTGRES_PASSWORD: 'p1', API_KEY: 'k2' } },
    ],
  ]);

  it('finds the environment the copies were rendered for, keeps what only they hold, reports a difference by place', () => {
    const result = compareServiceEnvFiles(
      [
        {
          file: '.env.d/core.env',
          entries: [
            { name: 'POSTGRES_PASSWORD', value: 'a1', line: 4 },
            { name: 'POSTGRES_DB', value: 'db', line: 5 },
          ],
        },
        {
          file: '.env.d/web.env',
          entries: [
            { name: 'API_KEY', value: 'zq-other-9', line: 7 },
            { name: 'SMTP_PASSWORD', value: 's1', line: 8 },
          ],
        },
      ],
      stores,
      secret,
      undefined,
    );
    expect(result.environment).toBe('development');
    expect(result.additions).toEqual({ SMTP_PASSWORD: 's1' });
    const warning = result.report.find((entry) => entry.severity === 'warning');
    expect(warning).toMatchObject({ file: '.env.d/web.env', line: 7 });
    expect(warning?.message).toMatch(/^API_KEY has another value in \.env\.d\/web\.env:7/);
    // No value is ever in the report.
    expect(JSON.stringify(result.report)).not.toMatch(/"a1"|zq-other-9|"s1"/);
  });

  it('with no store, the copies go to the fallback environment', () => {
    const result = compareServiceEnvFiles(
      [{ file: '.env.d/core.env', entries: [{ name: 'POSTGRES_PASSWORD', value: 'z', line: 1 }] }],
      new Map(),
      secret,
      'development',
    );
    expect(result).toMatchObject({ environment: 'development', additions: { POSTGRES_PASSWORD: 'z' } });
  });
});
