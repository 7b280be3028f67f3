// The release history of an environment: one record per upgrade or rollback
// (.stackctl/releases/<env>/<id>.json, 0600) and, beside it, a copy of the generated files the
// environment ran with before (.stackctl/releases/<env>/<id>/files/, 0700 folders, 0600 files: the
// env file holds secrets). Every write is atomic; a record is rewritten as the release goes on, so
// a run killed part-way leaves one that says how far it got.
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StackctlError } from '../errors.js';

/** What every record has; the rest is the caller's (plan/release.ts). */
export interface StoredRelease {
  readonly id: string;
  readonly environment: string;
  readonly state: string;
}
import { ensureDirectory, isErrno, readRegularText, writeFileAtomic } from './files.js';
import { stateDirectory } from './state.js';

export function releasesFolder(root: string, environment: string): string {
  return join(stateDirectory(root), 'releases', environment);
}

function recordPath(root: string, environment: string, id: string): string {
  return join(releasesFolder(root, environment), `${id}.json`);
}

export function releaseFilesFolder(root: string, environment: string, id: string): string {
  return join(releasesFolder(root, environment), id, 'files');
}

export async function writeRelease(root: string, record: StoredRelease): Promise<void> {
  const folder = releasesFolder(root, record.environment);
  await ensureDirectory(folder, 0o700);
  await writeFileAtomic(
    recordPath(root, record.environment, record.id),
    `${JSON.stringify(record, null, 2)}\n`,
    {
      mode: 0o600,
    },
  );
}

/** Every release of the environment, oldest first (ids sort by time). */
export async function readReleases<T extends StoredRelease>(root: string, environment: string): Promise<T[]> {
  const folder = releasesFolder(root, environment);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return [];
    throw error;
  }
  const records: T[] = [];
  for (const name of names.filter((entry) => entry.endsWith('.json')).sort()) {
    const text = await readRegularText(join(folder, name));
    if (text === undefined) continue;
    records.push(parseRelease(text, join(folder, name)) as T);
  }
  return records;
}

function parseRelease(text: string, path: string): StoredRelease {
  try {
    const value = JSON.parse(text) as Partial<StoredRelease>;
    if (
      typeof value.id === 'string' &&
      typeof value.environment === 'string' &&
      typeof value.state === 'string'
    )
      return value as StoredRelease;
  } catch {
    // reported below
  }
  throw new StackctlError('E_RUNTIME', `${path} is not a release record stackctl wrote`, {
    hint: 'move it out of .stackctl/releases/ and run the command again',
  });
}

/** Copies files (paths relative to root) into the release's files folder; missing ones are left out. */
export async function saveReleaseFiles(
  root: string,
  environment: string,
  id: string,
  paths: readonly string[],
): Promise<string[]> {
  const saved: string[] = [];
  const target = releaseFilesFolder(root, environment, id);
  for (const path of paths) {
    let content: string;
    try {
      content = await readFile(join(root, path), 'utf8');
    } catch (error) {
      if (isErrno(error, 'ENOENT')) continue;
      throw error;
    }
    await ensureFolders(target, dirname(path));
    await writeFileAtomic(join(target, path), content, { mode: 0o600 });
    saved.push(path);
  }
  return saved;
}

/** Reads a saved file of a release. */
export async function readReleaseFile(
  root: string,
  environment: string,
  id: string,
  path: string,
): Promise<string> {
  const text = await readRegularText(join(releaseFilesFolder(root, environment, id), path));
  if (text === undefined)
    throw new StackctlError('E_RUNTIME', `release ${id} has no saved copy of ${path}`, {
      hint: `its folder: ${releaseFilesFolder(root, environment, id)}`,
    });
  return text;
}

async function ensureFolders(base: string, relative: string): Promise<void> {
  await ensureDirectory(base, 0o700);
  let current = base;
  for (const part of relative.split('/').filter((piece) => piece !== '' && piece !== '.')) {
    current = join(current, part);
    await ensureDirectory(current, 0o700);
  }
}
