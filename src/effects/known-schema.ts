import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { readRegularText } from './files.js';
import { projectRoot, readSchema } from './schema-file.js';

/** The names of the recorded valid schema, with its digest: what quick commands (status) read. */
export const SCHEMA_NAMES = '.stackctl/last-valid-schema.names.json';

export interface SchemaNames {
  readonly sha256: string;
  readonly project: string;
  readonly environments: readonly string[];
}

export function schemaDigest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The project and environment names of the stack file without parsing or validating it again, when
 * it is byte for byte the copy recorded at the last generate or start (which validated it);
 * undefined otherwise, and the caller loads it in full.
 */
export async function readUnchangedSchemaNames(
  schemaFlag: string | undefined,
  cwd: string,
): Promise<SchemaNames | undefined> {
  const source = await readSchema(schemaFlag, cwd);
  const text = await readRegularText(join(projectRoot(source.path), SCHEMA_NAMES));
  if (text === undefined) return undefined;
  try {
    const names = JSON.parse(text) as SchemaNames;
    return names.sha256 === schemaDigest(source.text) ? names : undefined;
  } catch {
    return undefined;
  }
}
