import { constants, type Stats } from 'node:fs';
import { StackctlError } from '../errors.js';
import { access, chmod, mkdir, open, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, sep } from 'node:path';

/** A path stackctl must read as a file holds something else (a folder, a FIFO...). */
export class NotAFileError extends StackctlError {
  constructor(
    readonly path: string,
    readonly kind: string,
  ) {
    super('E_USAGE', `${path} is ${kind}, not a file`, {
      hint: 'remove or rename it; stackctl reads and writes a regular file there',
    });
  }
}

/** A file stackctl reads whole is larger than the inputs it expects. */
export class FileTooLargeError extends StackctlError {
  constructor(
    readonly path: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super('E_USAGE', `${path} is ${size} bytes, more than the ${limit} stackctl reads`, {
      hint: 'point stackctl at the right file, or remove what is not meant to be there',
    });
  }
}

/** A path that leads outside the folder it was read from (a symbolic link out of it). */
export class OutsideFolderError extends StackctlError {
  constructor(
    readonly path: string,
    readonly root: string,
  ) {
    super('E_USAGE', `${path} leads outside ${root} (a symbolic link)`, {
      hint: 'copy the file into the folder if it is meant to be read',
    });
  }
}

/** What a path holds when it is not a regular file, in words. */
function kindOf(info: Stats): string {
  if (info.isDirectory()) return 'a folder';
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Reads a file's bytes, or returns undefined when it does not exist. Anything but a regular file is
 * refused with one line: reading a FIFO would block forever, a folder is a mistake. The file is
 * opened without blocking and checked on the open handle, so nothing can be swapped in between.
 */
export async function readRegularFile(
  path: string,
  options: { readonly maxBytes?: number } = {},
): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new NotAFileError(path, kindOf(info));
    if (options.maxBytes !== undefined && info.size > options.maxBytes)
      throw new FileTooLargeError(path, info.size, options.maxBytes);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/**
 * Reads a UTF-8 file below `root` (its path relative to it), or returns undefined when it does not
 * exist. A path that resolves outside the root (a symbolic link out of it) is refused: a project
 * read from elsewhere (import) must not pull /etc/shadow in through a link.
 */
export async function readConfinedText(
  root: string,
  path: string,
  options: { readonly maxBytes?: number } = {},
): Promise<string | undefined> {
  const base = await realpath(root);
  let resolved: string;
  try {
    resolved = await realpath(join(root, path));
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
  if (resolved !== base && !resolved.startsWith(base.endsWith(sep) ? base : base + sep))
    throw new OutsideFolderError(path, root);
  return (await readRegularFile(resolved, options))?.toString('utf8');
}

/** Reads a UTF-8 file, or returns undefined when it does not exist (regular files only). */
export async function readRegularText(path: string): Promise<string | undefined> {
  return (await readRegularFile(path))?.toString('utf8');
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
 * A temporary file's name: the target's, with the writer's PID, a random part and a .stackctl-tmp
 * tag before a .json/.yaml/.yml extension. `.env.dev` becomes `.env.dev.<pid>-<hex>.stackctl-tmp`
 * and `k8s-secrets-dev.yaml` `k8s-secrets-dev.<pid>-<hex>.stackctl-tmp.yaml`, so the .gitignore
 * patterns that cover a secret-bearing file cover its temporary files too.
 */
export function temporaryName(target: string): string {
  const name = basename(target);
  const ext = /^\.(json|ya?ml)$/.test(extname(name)) ? extname(name) : '';
  // Loaded when a file is written, not by every run that reads one.
  const random = process.getBuiltinModule('node:crypto').randomBytes(6).toString('hex');
  const tag = `${process.pid}-${random}.stackctl-tmp`;
  return join(dirname(target), `${name.slice(0, name.length - ext.length)}.${tag}${ext}`);
}

const TEMPORARY = /\.(\d+)-[0-9a-f]{12}\.stackctl-tmp(\.json|\.ya?ml)?$/;
/** Temporary files of stackctl versions before 0.2: `.<name>.<hex>.tmp`. */
const LEGACY_TEMPORARY = /^\..+\.[0-9a-f]{12}\.tmp$/;

/** Whether a file name is a temporary file left by a stackctl process that no longer runs. */
export function isStaleTemporary(name: string): boolean {
  if (LEGACY_TEMPORARY.test(name)) return true;
  const pid = TEMPORARY.exec(name)?.[1];
  return pid !== undefined && !isProcessAlive(Number(pid));
}

/** The stale temporary files in a folder (names only); none when the folder does not exist. */
export async function staleTemporaries(folder: string): Promise<string[]> {
  try {
    return (await readdir(folder)).filter(isStaleTemporary);
  } catch {
    return [];
  }
}

const sweeps = new Map<string, Promise<void>>();

/**
 * Removes the temporary files a killed run left in a folder (they may hold secrets), once per
 * folder and process: every command that writes somewhere cleans up there first (writers of the
 * same folder at the same time all wait for the one sweep).
 */
export function sweepStaleTemporaries(folder: string): Promise<void> {
  let sweep = sweeps.get(folder);
  if (sweep === undefined) {
    sweep = (async () => {
      for (const name of await staleTemporaries(folder)) await rm(join(folder, name), { force: true });
    })();
    sweeps.set(folder, sweep);
  }
  return sweep;
}

/**
 * Writes a file atomically: the content goes to a temporary file in the same folder (0600 until it
 * is complete, whatever the final mode), is flushed to disk, then renamed over the target. Readers
 * see the old file or the new one, never half of one.
 */
export async function writeFileAtomic(
  path: string,
  content: string,
  options: WriteOptions = {},
): Promise<void> {
  const mode = options.mode ?? 0o644;
  await sweepStaleTemporaries(dirname(path));
  const temp = temporaryName(path);
  const handle = await open(temp, 'wx', 0o600);
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

/** Whether a process with this PID exists (EPERM: it exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrno(error, 'EPERM');
  }
}
