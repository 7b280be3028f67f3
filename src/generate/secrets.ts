// Named imports from zod/mini so the bundle keeps only the validators used (it loads on every run).
import { literal, minLength, object, record, string, type infer as Infer } from 'zod/mini';
import type { SecretTypeDef, StackFile } from '../schema/types.js';

export const SecretEntrySchema = object({
  value: string().check(minLength(1)),
  type: string(),
  createdAt: string(),
  rotationDueAt: string(),
});
export type SecretEntry = Infer<typeof SecretEntrySchema>;

export const SecretStoreSchema = object({
  version: literal(1),
  environment: string(),
  secrets: record(string(), SecretEntrySchema),
});
/** secrets/.env.<env>.json: every secret of one environment, with its type and rotation dates. */
export type SecretStore = Infer<typeof SecretStoreSchema>;

/** Fills a buffer with cryptographically strong random bytes (node:crypto randomFillSync in production). */
export type RandomBytes = (size: number) => Uint8Array;

// Alphanumeric and hex values need no quoting in dotenv files and no escaping in URLs.
const ALPHABETS = {
  alphanumeric: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
  hex: '0123456789abcdef',
} as const;

/** A random string of the type's length over its alphabet, without modulo bias (rejection sampling). */
export function generateSecretValue(type: SecretTypeDef, random: RandomBytes): string {
  const alphabet = ALPHABETS[type.alphabet ?? 'alphanumeric'];
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < type.length) {
    for (const byte of random(type.length * 2)) {
      if (byte >= limit) continue;
      out += alphabet[byte % alphabet.length];
      if (out.length === type.length) break;
    }
  }
  return out;
}

export interface SecretsResult {
  readonly store: SecretStore;
  /** Names of the secrets created now (none of the existing ones is ever replaced). */
  readonly created: readonly string[];
}

/**
 * Adds a value for every secret variable the store lacks and keeps every value it has. Entries of
 * variables no longer declared are kept too: dropping a secret is the user's call, not generate's.
 */
export function ensureSecrets(
  file: StackFile,
  environment: string,
  existing: SecretStore | undefined,
  random: RandomBytes,
  now: Date,
): SecretsResult {
  const secrets: Record<string, SecretEntry> = { ...(existing?.secrets ?? {}) };
  const created: string[] = [];
  for (const [name, def] of Object.entries(file.variables)) {
    if (def.type !== 'secret' || secrets[name] !== undefined) continue;
    const type = file.secretTypes[def.secretType ?? ''];
    if (!type) continue;
    secrets[name] = newEntry(def.secretType ?? '', type, def.prefix, random, now);
    created.push(name);
  }
  return { store: { version: 1, environment, secrets: sortKeys(secrets) }, created };
}

/** Replaces the chosen secrets with new values; returns the new store and the entries replaced. */
export function rotateSecrets(
  file: StackFile,
  store: SecretStore,
  names: readonly string[],
  random: RandomBytes,
  now: Date,
): { store: SecretStore; previous: Record<string, SecretEntry> } {
  const secrets = { ...store.secrets };
  const previous: Record<string, SecretEntry> = {};
  for (const name of names) {
    const def = file.variables[name];
    const type = file.secretTypes[def?.secretType ?? ''];
    const old = secrets[name];
    if (!def || !type) continue;
    if (old) previous[name] = old;
    secrets[name] = newEntry(def.secretType ?? '', type, def.prefix, random, now);
  }
  return { store: { ...store, secrets: sortKeys(secrets) }, previous };
}

function newEntry(
  typeName: string,
  type: SecretTypeDef,
  prefix: string | undefined,
  random: RandomBytes,
  now: Date,
): SecretEntry {
  const due = new Date(now.getTime() + type.rotationDays * 86_400_000);
  return {
    value: `${prefix ?? ''}${generateSecretValue(type, random)}`,
    type: typeName,
    createdAt: now.toISOString(),
    rotationDueAt: due.toISOString(),
  };
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function serializeSecretStore(store: SecretStore): string {
  return `${JSON.stringify(store, null, 2)}\n`;
}
