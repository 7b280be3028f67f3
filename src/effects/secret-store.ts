import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { StackctlError } from '../errors.js';
import { SECRETS_DIR } from '../generate/plan.js';
import { SecretStoreSchema, serializeSecretStore, type SecretStore } from '../generate/secrets.js';
import { ensureDirectory, readRegularText, writeFileAtomic } from './files.js';

export function secretStorePath(root: string, environment: string): string {
  return join(root, SECRETS_DIR, `.env.${environment}.json`);
}

/** The environment's secrets, or undefined when none were generated yet. A damaged file stops everything. */
export async function readSecretStore(root: string, environment: string): Promise<SecretStore | undefined> {
  const path = secretStorePath(root, environment);
  const text = await readRegularText(path);
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

/** Copies a secret-bearing file (an env file, a Kubernetes secret) into the 0700 secrets folder, 0600; returns its path. */
export async function backupFile(
  root: string,
  relativePath: string,
  stamp: string,
): Promise<string | undefined> {
  const text = await readRegularText(join(root, relativePath));
  if (text === undefined) return undefined;
  await ensureDirectory(join(root, SECRETS_DIR), 0o700);
  const path = join(root, SECRETS_DIR, `${basename(relativePath)}.bak-${stamp.replace(/[:.]/g, '-')}`);
  await writeFileAtomic(path, text, { mode: 0o600 });
  return path;
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

/**
 * Every secret value the environment has had that stackctl still knows: the store's current values
 * and those of its backups (rotations, wipes). Containers created before a rotation still print the
 * old ones, so redaction needs them all. A backup that cannot be read is skipped.
 */
export async function readSecretHistory(root: string, environment: string): Promise<string[]> {
  const values: string[] = [];
  const current = await readSecretStore(root, environment);
  values.push(...Object.values(current?.secrets ?? {}).map((entry) => entry.value));
  const folder = join(root, SECRETS_DIR);
  const prefix = `.env.${environment}.json.bak-`;
  const backups = (await readdir(folder).catch(() => [] as string[])).filter((name) =>
    name.startsWith(prefix),
  );
  for (const name of backups) {
    try {
      const text = await readRegularText(join(folder, name));
      const store = text === undefined ? undefined : SecretStoreSchema.parse(JSON.parse(text));
      values.push(...Object.values(store?.secrets ?? {}).map((entry) => entry.value));
    } catch {
      // Not a store (or damaged): nothing to learn from it.
    }
  }
  return values;
}
