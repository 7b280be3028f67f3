import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { CHECKS_ID } from '../schema/generated/checks-id.js';
import { readRegularText } from './files.js';
import { readSchema } from './schema-file.js';
import { projectRoot } from '../model/stack.js';

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
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Whether this text is the schema recorded as valid by a build with these same rules: then it need
 * not be validated again.
 */
export async function validatedBefore(root: string, text: string): Promise<boolean> {
  const names = await readNames(root);
  return names !== undefined && names.checks === CHECKS_ID && names.sha256 === schemaDigest(text);
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
