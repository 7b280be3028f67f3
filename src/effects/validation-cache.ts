// Validation results kept by the digest of what was validated, in the user's cache folder
// ($STACKCTL_CACHE_DIR, else $XDG_CACHE_HOME/stackctl, else ~/.cache/stackctl): validation is a
// pure function of the schema's text and the build's rules, so an unchanged schema's result (and,
// when valid, its data) is read back instead of parsing and checking again: validate's report,
// and the data every other command loads. Entries are 0600 in 0700 folders; a cache that cannot
// be read or written is simply not used.
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { StackFile } from '../schema/types.js';
import { ensureDirectory, readRegularText, writeFileAtomic } from './files.js';

export function cacheFolder(env: NodeJS.ProcessEnv): string {
  if (env['STACKCTL_CACHE_DIR']) return env['STACKCTL_CACHE_DIR'];
  const base = env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return join(base, 'stackctl');
}

function entryPath(env: NodeJS.ProcessEnv, key: string): string {
  return join(cacheFolder(env), 'validate', `${key}.json`);
}

export async function readCachedValidation<T>(env: NodeJS.ProcessEnv, key: string): Promise<T | undefined> {
  try {
    const text = await readRegularText(entryPath(env, key));
    return text === undefined ? undefined : (JSON.parse(text) as T);
  } catch {
    return undefined;
  }
}

export async function writeCachedValidation(
  env: NodeJS.ProcessEnv,
  key: string,
  value: unknown,
): Promise<void> {
  try {
    await ensureDirectory(join(cacheFolder(env), 'validate'), 0o700);
    await writeFileAtomic(entryPath(env, key), `${JSON.stringify(value)}\n`, { mode: 0o600 });
  } catch {
    // A read-only or full home: validation just runs every time.
  }
}

/** A schema this build's rules found valid, by the digest of its text: its data, to read instead of parsing. */
export async function readKnownSchema(
  env: NodeJS.ProcessEnv,
  digest: string,
  checks: string,
): Promise<StackFile | undefined> {
  try {
    const text = await readRegularText(join(cacheFolder(env), 'schemas', `${digest}.json`));
    const entry =
      text === undefined ? undefined : (JSON.parse(text) as { checks?: string; file?: StackFile });
    return entry?.checks === checks ? entry.file : undefined;
  } catch {
    return undefined;
  }
}

export async function writeKnownSchema(
  env: NodeJS.ProcessEnv,
  digest: string,
  checks: string,
  file: StackFile,
): Promise<void> {
  try {
    await ensureDirectory(join(cacheFolder(env), 'schemas'), 0o700);
    await writeFileAtomic(
      join(cacheFolder(env), 'schemas', `${digest}.json`),
      `${JSON.stringify({ checks, file })}\n`,
      {
        mode: 0o600,
      },
    );
  } catch {
    // A read-only or full home: the schema is validated every time.
  }
}
