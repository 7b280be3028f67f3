import { join } from 'node:path';
import { StackctlError } from '../errors.js';
import { SECRETS_DIR } from '../generate/plan.js';
import { SecretStoreSchema, serializeSecretStore, type SecretStore } from '../generate/secrets.js';
import { ensureDirectory, readTextIfExists, writeFileAtomic } from './files.js';

export function secretStorePath(root: string, environment: string): string {
  return join(root, SECRETS_DIR, `.env.${environment}.json`);
}

/** The environment's secrets, or undefined when none were generated yet. A damaged file stops everything. */
export async function readSecretStore(root: string, environment: string): Promise<SecretStore | undefined> {
  const path = secretStorePath(root, environment);
  const text = await readTextIfExists(path);
  if (text === undefined) return undefined;
  try {
    return SecretStoreSchema.parse(JSON.parse(text));
  } catch (error) {
    throw new StackctlError(
      'E_USAGE',
      `${SECRETS_DIR}/.env.${environment}.json is not a secret store stackctl can read`,
      {
        hint: 'restore it from its backup (secrets/*.bak-*); stackctl will not overwrite it',
        cause: error,
      },
    );
  }
}

/** Writes a backup of secret entries, 0600 in the 0700 secrets folder; returns its path. */
export async function backupSecrets(
  root: string,
  environment: string,
  store: SecretStore,
  stamp: string,
): Promise<string> {
  await ensureDirectory(join(root, SECRETS_DIR), 0o700);
  const path = join(root, SECRETS_DIR, `.env.${environment}.json.bak-${stamp.replace(/[:.]/g, '-')}`);
  await writeFileAtomic(path, serializeSecretStore(store), { mode: 0o600 });
  return path;
}
