import { randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ensureSecrets, generateSecretValue, rotateSecrets } from '../../src/generate/secrets.js';
import type { StackFile } from '../../src/schema/types.js';
import { validateStackText } from '../../src/schema/validate.js';
import { SHIPPED_SCHEMA } from '../helpers/paths.js';

const file = (await validateStackText(readFileSync(SHIPPED_SCHEMA, 'utf8'), { fileName: 's' }))
  .file as StackFile;
const random = (size: number): Uint8Array => randomFillSync(new Uint8Array(size));
const now = new Date('2026-11-22T10:00:00.000Z');

describe('generateSecretValue', () => {
  it('has the length and alphabet of its type', () => {
    expect(generateSecretValue({ length: 64, rotationDays: 1 }, random)).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(generateSecretValue({ length: 32, rotationDays: 1, alphabet: 'hex' }, random)).toMatch(
      /^[0-9a-f]{32}$/,
    );
  });

  it('skips bytes that would bias the alphabet (rejection sampling)', () => {
    // 62 symbols: bytes 248..255 must be dropped, so a source of only 255s then 0s yields 'A's.
    let calls = 0;
    const biased = (size: number): Uint8Array => new Uint8Array(size).fill(calls++ === 0 ? 255 : 0);
    expect(generateSecretValue({ length: 8, rotationDays: 1 }, biased)).toBe('AAAAAAAA');
  });

  it('draws values that differ run to run', () => {
    const values = new Set(
      Array.from({ length: 50 }, () => generateSecretValue({ length: 32, rotationDays: 1 }, random)),
    );
    expect(values.size).toBe(50);
  });
});

describe('ensureSecrets', () => {
  it('creates every secret of the schema with type, creation and due date', () => {
    const { store, created } = ensureSecrets(file, 'staging', undefined, random, now);
    expect([...created].sort()).toEqual(
      Object.entries(file.variables)
        .filter(([, def]) => def.type === 'secret')
        .map(([name]) => name)
        .sort(),
    );
    expect(store.secrets['JWT_SECRET_KEY']).toMatchObject({
      type: 'jwt_secret',
      createdAt: '2026-11-22T10:00:00.000Z',
      rotationDueAt: '2026-12-22T10:00:00.000Z',
    });
    expect(store.secrets['JWT_SECRET_KEY']?.value).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(store.secrets['LITELLM_MASTER_KEY']?.value).toMatch(/^sk-[A-Za-z0-9]{64}$/);
    expect(store.secrets['POSTGRES_PASSWORD']?.value).toHaveLength(32);
  });

  it('never replaces a secret that exists', () => {
    const first = ensureSecrets(file, 'staging', undefined, random, now).store;
    const second = ensureSecrets(file, 'staging', first, random, new Date('2027-01-01T00:00:00Z'));
    expect(second.created).toEqual([]);
    expect(second.store).toEqual(first);
  });

  it('keeps entries of variables the schema no longer declares', () => {
    const first = ensureSecrets(file, 'staging', undefined, random, now).store;
    const withOld = {
      ...first,
      secrets: {
        ...first.secrets,
        OLD_TOKEN: { value: 'x', type: 'api_key', createdAt: '', rotationDueAt: '' },
      },
    };
    expect(ensureSecrets(file, 'staging', withOld, random, now).store.secrets['OLD_TOKEN']?.value).toBe('x');
  });
});

describe('rotateSecrets', () => {
  it('replaces only the named secrets and hands back the old entries', () => {
    const store = ensureSecrets(file, 'staging', undefined, random, now).store;
    const later = new Date('2027-03-01T00:00:00.000Z');
    const { store: rotated, previous } = rotateSecrets(file, store, ['POSTGRES_PASSWORD'], random, later);
    expect(previous['POSTGRES_PASSWORD']).toEqual(store.secrets['POSTGRES_PASSWORD']);
    expect(rotated.secrets['POSTGRES_PASSWORD']?.value).not.toBe(store.secrets['POSTGRES_PASSWORD']?.value);
    expect(rotated.secrets['POSTGRES_PASSWORD']?.createdAt).toBe(later.toISOString());
    expect(rotated.secrets['REDIS_PASSWORD']).toEqual(store.secrets['REDIS_PASSWORD']);
  });
});
