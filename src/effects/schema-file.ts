import { dirname, join, resolve } from 'node:path';
import { displayPathOf } from '../model/stack.js';
import { StackctlError } from '../errors.js';
import { textEncodingProblem } from '../text.js';
import { exists, NotAFileError, readRegularFile } from './files.js';

export const DEFAULT_SCHEMA_PATH = join('schemas', 'compose-schema.yaml');

export interface SchemaSource {
  /** Absolute path of the stack file. */
  readonly path: string;
  /** The path as shown to the user: relative to the working directory when inside it. */
  readonly displayPath: string;
  readonly text: string;
}

/**
 * Finds the stack file: the path given by --schema or STACKCTL_SCHEMA, else
 * schemas/compose-schema.yaml in the working directory or the nearest parent that has one.
 */
export async function findSchemaPath(explicit: string | undefined, cwd: string): Promise<string> {
  const given = explicit ?? process.env['STACKCTL_SCHEMA'];
  if (given !== undefined && given !== '') return resolve(cwd, given);
  let folder = resolve(cwd);
  for (;;) {
    const candidate = join(folder, DEFAULT_SCHEMA_PATH);
    if (await exists(candidate)) return candidate;
    const parent = dirname(folder);
    if (parent === folder) break;
    folder = parent;
  }
  throw new StackctlError('E_SCHEMA_NOT_FOUND', `no ${DEFAULT_SCHEMA_PATH} in ${cwd} or any parent folder`, {
    hint: 'run stackctl from the project folder, or pass --schema PATH',
  });
}

export async function readSchema(explicit: string | undefined, cwd: string): Promise<SchemaSource> {
  const path = await findSchemaPath(explicit, cwd);
  const displayPath = displayPathOf(path, cwd);
  let bytes: Buffer | undefined;
  try {
    bytes = await readRegularFile(path);
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
  return { path, displayPath, text: bytes.toString('utf8') };
}

export { displayPathOf, projectRoot, type LoadedStack } from '../model/stack.js';
