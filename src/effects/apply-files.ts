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

/**
 * Writes the planned files, each atomically, skipping those already byte-identical (with the right
 * mode). The secrets folder is 0700. With check, nothing is written: statuses say what would change.
 */
export async function applyFiles(
  root: string,
  cwd: string,
  files: readonly FileSpec[],
  options: { check: boolean; signal?: AbortSignal },
): Promise<FileResult[]> {
  const results: FileResult[] = [];
  for (const spec of files) {
    options.signal?.throwIfAborted();
    const absolute = join(root, spec.path);
    // Even when this file is unchanged: a killed run may have left a temporary copy beside it.
    if (!options.check) await sweepStaleTemporaries(dirname(absolute));
    const current = await readRegularText(absolute);
    const modeOk = current === undefined ? false : ((await stat(absolute)).mode & 0o777) === spec.mode;
    const status: FileStatus =
      current === undefined ? 'created' : current === spec.content && modeOk ? 'unchanged' : 'updated';
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
