import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { FileSignature } from '../replay.js';
import { displayPathOf } from '../model/stack.js';
import { StackctlError } from '../errors.js';
import { textEncodingProblem } from '../text.js';
import { exists, NotAFileError, readRegularFile } from './files.js';

export const DEFAULT_SCHEMA_PATH = join('schemas', 'compose-schema.yaml');

export interface SchemaSource {
  /** Absolute path of the stack file. */
  readonly path: string;
  /** Where it was looked for first and is not (nearer folders of the search upwards). */
  readonly absent: readonly string[];
  /** The file as it was read (src/replay.ts); undefined when it changed while being read. */
  readonly signature: FileSignature | undefined;
  /** The path as shown to the user: relative to the working directory when inside it. */
  readonly displayPath: string;
  readonly text: string;
}

/**
 * Finds the stack file: the path given by --schema or STACKCTL_SCHEMA, else
 * schemas/compose-schema.yaml in the working directory or the nearest parent that has one.
 */
export async function findSchemaPath(explicit: string | undefined, cwd: string): Promise<string> {
  return (await locateSchema(explicit, cwd)).path;
}

async function locateSchema(
  explicit: string | undefined,
  cwd: string,
): Promise<{ readonly path: string; readonly absent: readonly string[] }> {
  const given = explicit ?? process.env['STACKCTL_SCHEMA'];
  if (given !== undefined && given !== '') return { path: resolve(cwd, given), absent: [] };
  const absent: string[] = [];
  let folder = resolve(cwd);
  for (;;) {
    const candidate = join(folder, DEFAULT_SCHEMA_PATH);
    if (await exists(candidate)) return { path: candidate, absent };
    absent.push(candidate);
    const parent = dirname(folder);
    if (parent === folder) break;
    folder = parent;
  }
  throw new StackctlError('E_SCHEMA_NOT_FOUND', `no ${DEFAULT_SCHEMA_PATH} in ${cwd} or any parent folder`, {
    hint: 'run stackctl from the project folder, or pass --schema PATH',
  });
}

export async function readSchema(explicit: string | undefined, cwd: string): Promise<SchemaSource> {
  const { path, absent } = await locateSchema(explicit, cwd);
  const displayPath = displayPathOf(path, cwd);
  let bytes: Buffer | undefined;
  let signature: FileSignature | undefined;
  try {
    const before = await fileSignature(path);
    bytes = await readRegularFile(path);
    const after = await fileSignature(path);
    signature = before !== null && before === after ? before : undefined;
  } catch (error) {
    if (error instanceof NotAFileError) {
      throw new StackctlError(
        'E_SCHEMA_NOT_FOUND',
        `schema path ${displayPath} is ${error.kind}, not a file`,
        {
          hint: `pass the YAML file, e.g. --schema ${join(explicit === undefined ? 'schemas' : displayPath, 'compose-schema.yaml')}`,
          cause: error,
        },
      );
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new StackctlError('E_SCHEMA_NOT_FOUND', `cannot read schema file ${displayPath}: ${reason}`, {
      hint: 'check the file exists and is readable by this user',
      cause: error,
    });
  }
  if (bytes === undefined) {
    throw new StackctlError('E_SCHEMA_NOT_FOUND', `schema file ${displayPath} does not exist`, {
      hint: 'check the --schema path',
    });
  }
  const problem = textEncodingProblem(bytes);
  if (problem !== undefined) {
    throw new StackctlError('E_SCHEMA', `schema file ${displayPath} is ${problem}, not UTF-8 YAML`, {
      hint: `save it as UTF-8 (iconv -f UTF-16 -t UTF-8 ${displayPath} > fixed.yaml)`,
    });
  }
  return { path, absent, signature, displayPath, text: bytes.toString('utf8') };
}

/**
 * What a file is now (bin/stackctl computes the same from its own stat): device, inode, size, and
 * change and modification times in nanoseconds; null when it does not exist. Any write changes the
 * change time, which no one can set back.
 */
export async function fileSignature(path: string): Promise<FileSignature | null> {
  try {
    const stats = await stat(path, { bigint: true });
    return [stats.dev, stats.ino, stats.size, stats.ctimeNs, stats.mtimeNs].join(':');
  } catch (error) {
    if (
      (error as NodeJS.ErrnoException).code === 'ENOENT' ||
      (error as NodeJS.ErrnoException).code === 'ENOTDIR'
    )
      return null;
    throw error;
  }
}

export { displayPathOf, projectRoot, type LoadedStack } from '../model/stack.js';
