import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

/** Reads a UTF-8 file, or returns undefined when it does not exist. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

export interface WriteOptions {
  /** File mode, applied before the file becomes visible under its name. */
  readonly mode?: number;
}

/**
 * Writes a file atomically: the content goes to a temporary file in the same folder, is flushed to
 * disk, then renamed over the target. Readers see the old file or the new one, never half of one.
 */
export async function writeFileAtomic(
  path: string,
  content: string,
  options: WriteOptions = {},
): Promise<void> {
  const mode = options.mode ?? 0o644;
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.chmod(mode);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Creates a folder (and parents) and makes sure the folder itself has exactly this mode. */
export async function ensureDirectory(path: string, mode: number): Promise<void> {
  await mkdir(path, { recursive: true, mode });
  const info = await stat(path);
  if ((info.mode & 0o777) !== mode) await chmod(path, mode);
}

export function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
