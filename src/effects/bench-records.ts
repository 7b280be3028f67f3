// What each load test run left: a record per run (.stackctl/bench/<env>/<id>.json, 0600 in 0700
// folders) with its summary, for `bench compare` and for CI to keep. No secret is in it; what a
// record holds beyond its id and environment is plan/bench.ts's.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StackctlError } from '../errors.js';
import { writeFileAtomic } from './files.js';
import { stateDirectory } from './state.js';

/** What every record has; the rest is the caller's (plan/bench.ts). */
export interface StoredBenchRun {
  readonly id: string;
  readonly environment: string;
}

function benchDir(root: string, environment: string): string {
  return join(stateDirectory(root), 'bench', environment);
}

export async function saveBenchRecord(root: string, record: StoredBenchRun): Promise<string> {
  const dir = benchDir(root, record.environment);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${record.id}.json`);
  await writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  return path;
}

/** A run by its id (in any environment's records, or a unique prefix of one), or a record file's path. */
export async function loadBenchRecord<T extends StoredBenchRun>(
  root: string,
  cwd: string,
  reference: string,
): Promise<T> {
  const asPath = resolve(cwd, reference);
  if (reference.endsWith('.json')) return readRecord<T>(asPath, reference);
  const base = join(stateDirectory(root), 'bench');
  const environments = await readdir(base).catch(() => [] as string[]);
  const matches: string[] = [];
  for (const environment of environments) {
    const names = await readdir(join(base, environment)).catch(() => [] as string[]);
    for (const name of names)
      if (name.endsWith('.json') && name.startsWith(reference)) matches.push(join(base, environment, name));
  }
  const exact = matches.find((path) => path.endsWith(`/${reference}.json`));
  if (exact) return readRecord<T>(exact, reference);
  if (matches.length === 1 && matches[0] !== undefined) return readRecord<T>(matches[0], reference);
  throw new StackctlError(
    'E_USAGE',
    matches.length === 0
      ? `no load test run ${reference}`
      : `${reference} names ${String(matches.length)} runs`,
    {
      hint: 'give a run id as bench printed it (stackctl bench runs ENV lists them), or a record file (.json)',
    },
  );
}

/** The runs recorded for an environment, oldest first. */
export async function listBenchRecords<T extends StoredBenchRun>(
  root: string,
  environment: string,
): Promise<T[]> {
  const dir = benchDir(root, environment);
  const names = (await readdir(dir).catch(() => [] as string[]))
    .filter((name) => name.endsWith('.json'))
    .sort();
  const records: T[] = [];
  for (const name of names) records.push(await readRecord<T>(join(dir, name), name));
  return records;
}

async function readRecord<T extends StoredBenchRun>(path: string, reference: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new StackctlError('E_USAGE', `no load test run ${reference} (${path})`, {
      hint: 'give a run id as bench printed it, or a record file (.json)',
    });
  }
  try {
    const record = JSON.parse(text) as Partial<StoredBenchRun> & { summary?: unknown };
    if (
      typeof record.id !== 'string' ||
      typeof record.environment !== 'string' ||
      typeof record.summary !== 'object'
    )
      throw new Error('shape');
    return record as T;
  } catch {
    throw new StackctlError('E_USAGE', `${path} is not a load test record`, {
      hint: 'give a file bench wrote under .stackctl/bench/',
    });
  }
}
