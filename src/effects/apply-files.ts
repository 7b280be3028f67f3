import { stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { FileSpec } from '../generate/plan.js';
import { SECRETS_DIR } from '../generate/plan.js';
import { ensureDirectory, readRegularText, sweepStaleTemporaries, writeFileAtomic } from './files.js';

export type FileStatus = 'created' | 'updated' | 'unchanged';

export interface FileResult {
  /** Relative to the working directory. */
  readonly path: string;
  readonly status: FileStatus;
}

/** How many files are compared at once: each takes a few trips to the thread pool. */
const PARALLEL_READS = 16;

/**
 * Writes the planned files, each atomically, skipping those already byte-identical (with the right
 * mode). The secrets folder is 0700. With check, nothing is written: statuses say what would change.
 * Files are compared with what is on disk several at a time (reads only), then written one by one
 * in the plan's order: a failed write leaves the files before it written and none after it.
 */
export async function applyFiles(
  root: string,
  cwd: string,
  files: readonly FileSpec[],
  options: { check: boolean; signal?: AbortSignal },
): Promise<FileResult[]> {
  // A file that cannot be read fails the run when its turn comes, after the files before it.
  const compared = await inBatches(files, PARALLEL_READS, (spec) =>
    compareFile(root, spec, options).then(
      (status) => ({ status }),
      (error: unknown) => ({ error }),
    ),
  );
  const results: FileResult[] = [];
  for (const [index, spec] of files.entries()) {
    options.signal?.throwIfAborted();
    const absolute = join(root, spec.path);
    const outcome = compared[index] as { status: FileStatus } | { error: unknown };
    if ('error' in outcome) throw outcome.error;
    const { status } = outcome;
    if (!options.check && status !== 'unchanged') {
      const folder = dirname(absolute);
      if (folder !== root)
        await ensureDirectory(folder, relative(root, folder) === SECRETS_DIR ? 0o700 : 0o755);
      await writeFileAtomic(absolute, spec.content, { mode: spec.mode });
    }
    results.push({ path: relative(cwd, absolute) || absolute, status });
  }
  return results;
}

async function compareFile(
  root: string,
  spec: FileSpec,
  options: { check: boolean; signal?: AbortSignal },
): Promise<FileStatus> {
  options.signal?.throwIfAborted();
  const absolute = join(root, spec.path);
  // Even when this file is unchanged: a killed run may have left a temporary copy beside it.
  if (!options.check) await sweepStaleTemporaries(dirname(absolute));
  const current = await readRegularText(absolute);
  if (current === undefined) return 'created';
  const modeOk = ((await stat(absolute)).mode & 0o777) === spec.mode;
  return current === spec.content && modeOk ? 'unchanged' : 'updated';
}

/** Each item's result, in order, with at most `limit` in flight; the first failure once all have ended. */
async function inBatches<Item, Result>(
  items: readonly Item[],
  limit: number,
  work: (item: Item) => Promise<Result>,
): Promise<Result[]> {
  const results: Result[] = [];
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index] as Item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const ended = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const failure = ended.find((outcome) => outcome.status === 'rejected');
  if (failure) throw failure.reason;
  return results;
}
