// The secret stores as commands read and change them by hand: every environment's store for a
// status, one value asked for by name, and a value people provide stored (the previous one backed
// up 0600 first, and only when asked to replace it).
import { join } from 'node:path';
import { StackctlError } from '../errors.js';
import { ensureDirectory, writeFileAtomic } from '../effects/files.js';
import { backupSecrets, readSecretStore, secretStorePath } from '../effects/secret-store.js';
import { SECRETS_DIR } from '../generate/plan.js';
import { serializeSecretStore, type SecretStore } from '../generate/secrets.js';
import type { LoadedStack } from '../model/stack.js';

/** Each named environment's store, undefined where none is generated yet. */
export async function readSecretStores(
  stack: LoadedStack,
  environments: readonly string[],
): Promise<{ name: string; store: SecretStore | undefined }[]> {
  return Promise.all(
    environments.map(async (name) => ({ name, store: await readSecretStore(stack.root, name) })),
  );
}

/** One environment's store (undefined before its first generate). */
export function readEnvironmentSecrets(stack: LoadedStack, env: string): Promise<SecretStore | undefined> {
  return readSecretStore(stack.root, env);
}

export interface SecretValue {
  readonly name: string;
  readonly value: string;
  /** The store's type of the entry: `provided` for a key people issued, else the secret's type. */
  readonly type: string;
  /** Replace an existing value (the previous store is backed up first). */
  readonly replace: boolean;
}

/** Stores one value in the environment's store (0600 in a 0700 folder, written atomically). */
export async function storeSecretValue(stack: LoadedStack, env: string, secret: SecretValue): Promise<void> {
  const store = (await readSecretStore(stack.root, env)) ?? {
    version: 1 as const,
    environment: env,
    secrets: {},
  };
  const { name } = secret;
  if (store.secrets[name] !== undefined && !secret.replace)
    throw new StackctlError('E_REFUSED', `${env} already has a value for ${name}; it was left as is`, {
      hint: `pass --replace to replace it (the old one is backed up 0600 in secrets/)`,
    });
  const now = new Date();
  if (store.secrets[name] !== undefined) await backupSecrets(stack.root, env, store, now.toISOString());
  const next = {
    ...store,
    secrets: {
      ...store.secrets,
      [name]: {
        value: secret.value,
        type: secret.type,
        createdAt: now.toISOString(),
        rotationDueAt: new Date(now.getTime() + 365 * 86_400_000).toISOString(),
      },
    },
  };
  await ensureDirectory(join(stack.root, SECRETS_DIR), 0o700);
  await writeFileAtomic(secretStorePath(stack.root, env), serializeSecretStore(next), { mode: 0o600 });
}
