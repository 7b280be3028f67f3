import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BUILT_IN_TEMPLATES, type TemplateSources } from '../generate/env-file.js';
import { isErrno, readRegularText } from './files.js';

export const TEMPLATES_DIR = 'env-templates';

/** The project's env-templates/*.env.j2, or stackctl's built-in layout when the project has none. */
export async function readTemplates(root: string): Promise<{ sources: TemplateSources; builtIn: boolean }> {
  const folder = join(root, TEMPLATES_DIR);
  let names: string[];
  try {
    names = (await readdir(folder)).filter((name) => name.endsWith('.env.j2')).sort();
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw error;
    return { sources: BUILT_IN_TEMPLATES, builtIn: true };
  }
  const entries = await Promise.all(
    names.map(async (name) => [name, (await readRegularText(join(folder, name))) ?? ''] as const),
  );
  return { sources: new Map(entries), builtIn: false };
}
