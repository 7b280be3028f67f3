// The stored secrets of an environment: strong, real and distinct, with no value ever shown.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { SecretStore } from '../../src/generate/secrets.js';
import { secretStrengthChecks } from '../../src/preflight/secret-strength.js';
import type { StackFile } from '../../src/schema/types.js';
import { validateStackText } from '../../src/schema/validate.js';
import { SHIPPED_SCHEMA } from '../helpers/paths.js';

const file = (await validateStackText(readFileSync(SHIPPED_SCHEMA, 'utf8'), { fileName: 'schema' }))
  .file as StackFile;
const store = (values: Record<string, string>): SecretStore => ({
  version: 1,
  environment: 'development',
  secrets: Object.fromEntries(
    Object.entries(values).map(([name, value]) => [
      name,
      { value, type: file.variables[name]?.secretType ?? '', createdAt: '', rotationDueAt: '' },
    ]),
  ),
});
const strong = (seed: string, length = 32): string => seed.repeat(64).slice(0, length);

describe('secretStrengthChecks', () => {
  it('passes generated-looking values and names none', () => {
    const checks = secretStrengthChecks(
      file,
      'development',
      store({ POSTGRES_PASSWORD: strong('aB3dE5gH7j'), REDIS_PASSWORD: strong('Zy9Xw8Vu7T') }),
    );
    expect(checks).toEqual([expect.objectContaining({ status: 'pass', id: 'secrets.strength' })]);
  });

  it('takes a declared prefix (sk- of API keys) as outside the random part', () => {
    const key = `${file.variables['LITELLM_MASTER_KEY']?.prefix ?? ''}${strong('aB3dE5gH7j', 64)}`;
    expect(key.startsWith('sk-')).toBe(true);
    const checks = secretStrengthChecks(file, 'development', store({ LITELLM_MASTER_KEY: key }));
    expect(checks.map((check) => check.status)).toEqual(['pass']);
  });

  it.each([
    'changeme',
    'password',
    'minioadmin',
    'your_password_here',
    'xxxxxxxx',
    'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  ])('fails the placeholder %j without showing it', (value) => {
    const [check] = secretStrengthChecks(file, 'development', store({ POSTGRES_PASSWORD: value }));
    expect(check).toMatchObject({
      id: 'secrets.POSTGRES_PASSWORD',
      status: 'fail',
      fix: 'stackctl secrets rotate development --name POSTGRES_PASSWORD',
    });
    expect(JSON.stringify(check)).not.toContain(value);
  });

  it('fails a value shorter than its type, and one value reused for two secrets', () => {
    const short = 'Qz7Lm2Xw9R';
    const shared = strong('Pk4Hs8Nd2V');
    const checks = secretStrengthChecks(
      file,
      'development',
      store({ POSTGRES_PASSWORD: short, REDIS_PASSWORD: shared, MINIO_ROOT_PASSWORD: shared }),
    );
    expect(checks).toContainEqual(
      expect.objectContaining({
        id: 'secrets.POSTGRES_PASSWORD',
        status: 'fail',
        message: 'POSTGRES_PASSWORD of development has 10 characters; a database_password needs 32',
      }),
    );
    expect(checks).toContainEqual(
      expect.objectContaining({
        id: 'secrets.reused',
        status: 'fail',
        message:
          'REDIS_PASSWORD and MINIO_ROOT_PASSWORD of development share one value: a leak of one opens all',
      }),
    );
    for (const value of [short, shared]) expect(JSON.stringify(checks)).not.toContain(value);
  });
});
