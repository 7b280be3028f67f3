import { join } from 'node:path';
import { CHECKS_ID } from '../schema/generated/checks-id.js';
import { readRegularText } from './files.js';
import { readSchema } from './schema-file.js';
import { projectRoot } from '../model/stack.js';
import type { StackFile } from '../schema/types.js';

/** The names of the recorded valid schema, with its digest: what quick commands (status) read. */
export const SCHEMA_NAMES = '.stackctl/last-valid-schema.names.json';

export interface SchemaNames {
  readonly sha256: string;
  /** The build's validation rules it passed (CHECKS_ID). */
  readonly checks: string;
  readonly project: string;
  readonly environments: readonly string[];
}

export function schemaDigest(text: string): string {
  return process.getBuiltinModule('node:crypto').createHash('sha256').update(text).digest('hex');
}

/** The parsed schema recorded as valid, with its digest: read instead of parsing the YAML again. */
export const VALID_SCHEMA_DATA = '.stackctl/last-valid-schema.data.json';

/**
 * The schema's data when this text is the schema recorded as valid by a build with these same
 * rules: it need not be parsed nor validated again. Undefined otherwise.
 */
export async function validatedBefore(root: string, text: string): Promise<StackFile | undefined> {
  const names = await readNames(root);
  if (names === undefined || names.checks !== CHECKS_ID || names.sha256 !== schemaDigest(text))
    return undefined;
  const recorded = await readRegularText(join(root, VALID_SCHEMA_DATA));
  if (recorded === undefined) return undefined;
  try {
    const data = JSON.parse(recorded) as { sha256?: string; file?: StackFile };
    return data.sha256 === names.sha256 ? data.file : undefined;
  } catch {
    return undefined;
  }
}

async function readNames(root: string): Promise<SchemaNames | undefined> {
  const text = await readRegularText(join(root, SCHEMA_NAMES));
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as SchemaNames;
  } catch {
    return undefined;
  }
}

/**
 * The project and environment names of the stack file without parsing or validating it again, when
 * it is byte for byte the copy recorded at the last generate or start (which validated it);
 * undefined otherwise, and the caller loads it in full.
 */
export async function readUnchangedSchemaNames(
  schemaFlag: string | undefined,
  cwd: string,
): Promise<(SchemaNames & { readonly root: string }) | undefined> {
  const source = await readSchema(schemaFlag, cwd);
  const root = projectRoot(source.path);
  const names = await readNames(root);
  return names?.sha256 === schemaDigest(source.text) ? { ...names, root } : undefined;
}
