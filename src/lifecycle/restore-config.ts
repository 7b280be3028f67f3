// The config artifact put back: schema, env files and the secret store, merged with the live store
// so that a secret rotated since the backup keeps the value the running services use.
import { dirname, join, posix, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { StackctlError } from '../errors.js';
import { decrypt } from '../effects/backup/encryption.js';
import { ensureDirectory, writeFileAtomic } from '../effects/files.js';
import { readSecretStore } from '../effects/secret-store.js';
import { dotenvLine } from '../generate/dotenv.js';
import { SecretStoreSchema, serializeSecretStore, type SecretStore } from '../generate/secrets.js';
import { BACKUP_KEY_ENV } from './backup-sets.js';

/** What a config restore did with the secrets the backup held differently from the live store. */
export interface ConfigSecretsOutcome {
  /** Names whose current value was kept (what the running services and their data use). */
  readonly kept: readonly string[];
  /** With --secrets-from-backup: names whose live value the backup's replaced. */
  readonly replaced?: readonly string[];
  /** Where the values not used were saved (0600), relative to the root: the backup's, or the live ones it replaced. */
  readonly savedTo?: string;
}

/**
 * Puts the config files of a backup back. The secret store is merged, not replaced: a value that
 * changed since the backup (a rotation, already applied inside PostgreSQL or Redis and in every
 * container) keeps its current value, in the store and in the env file, unless `takeBackupSecrets`;
 * the backup's values are saved aside, never lost, and named in the outcome.
 */
export async function restoreConfig(
  root: string,
  environment: string,
  sealed: Readable,
  key: string | undefined,
  takeBackupSecrets: boolean,
  restoreId: string,
): Promise<ConfigSecretsOutcome> {
  if (key === undefined || key === '')
    throw new StackctlError('E_USAGE', 'no key to open the config backup', {
      hint: `set ${BACKUP_KEY_ENV} to the BACKUP_ENCRYPTION_KEY the backup was made with`,
    });
  const chunks: Buffer[] = [];
  for await (const chunk of sealed) chunks.push(chunk as Buffer);
  const bundle = JSON.parse(decrypt(Buffer.concat(chunks), key).toString()) as {
    files: { path: string; mode: number; content: string }[];
  };
  const storePath = posix.join('secrets', `.env.${environment}.json`);
  const envPath = `.env.${environment}`;
  const current = await readSecretStore(root, environment);
  const contents = new Map(
    bundle.files.map((entry) => [entry.path, Buffer.from(entry.content, 'base64').toString('utf8')]),
  );
  let outcome: ConfigSecretsOutcome = { kept: [] };
  const restoredText = contents.get(storePath);
  if (restoredText !== undefined && current !== undefined) {
    const restored = SecretStoreSchema.parse(JSON.parse(restoredText));
    const changed = Object.keys(current.secrets)
      .filter((name) => restored.secrets[name]?.value !== current.secrets[name]?.value)
      .sort();
    if (changed.length > 0 && takeBackupSecrets) {
      // The live values the backup's replace are saved aside all the same: never lost.
      const savedTo = posix.join('.stackctl', 'replaced-secrets', `${environment}-${restoreId}.json`);
      await ensureDirectory(join(root, savedTo, '..'), 0o700);
      const live = Object.fromEntries(changed.map((name) => [name, current.secrets[name]]));
      await writeFileAtomic(
        join(root, savedTo),
        `${JSON.stringify({ environment, secrets: live }, null, 2)}\n`,
        {
          mode: 0o600,
        },
      );
      outcome = { kept: [], replaced: changed, savedTo };
    }
    const kept = takeBackupSecrets ? [] : changed;
    if (kept.length > 0) {
      const aside = Object.fromEntries(
        kept.filter((name) => restored.secrets[name]).map((name) => [name, restored.secrets[name]]),
      );
      const savedTo = posix.join('.stackctl', 'restored-secrets', `${environment}-${restoreId}.json`);
      await ensureDirectory(join(root, savedTo, '..'), 0o700);
      await writeFileAtomic(
        join(root, savedTo),
        `${JSON.stringify({ environment, secrets: aside }, null, 2)}\n`,
        {
          mode: 0o600,
        },
      );
      const merged: SecretStore = {
        ...restored,
        secrets: {
          ...restored.secrets,
          ...Object.fromEntries(kept.map((name) => [name, current.secrets[name]!])),
        },
      };
      contents.set(storePath, serializeSecretStore(merged));
      const envText = contents.get(envPath);
      if (envText !== undefined)
        contents.set(
          envPath,
          envText
            .split('\n')
            .map((line) => {
              const name = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(line)?.[1];
              const value =
                name !== undefined && kept.includes(name) ? current.secrets[name]?.value : undefined;
              return value === undefined || name === undefined ? line : dotenvLine(name, value);
            })
            .join('\n'),
        );
      outcome = { kept, savedTo };
    }
  }
  for (const entry of bundle.files) {
    const path = join(root, entry.path);
    if (relative(root, path).startsWith('..')) continue;
    await ensureDirectory(dirname(path), entry.path.startsWith('secrets/') ? 0o700 : 0o755);
    await writeFileAtomic(path, contents.get(entry.path) ?? '', { mode: entry.mode & 0o666 });
  }
  return outcome;
}
