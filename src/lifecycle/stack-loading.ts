// Reading the stack file a command works on: the schema found, read, validated (or trusted, when
// this build validated these same bytes before), and, for commands that only look at what runs,
// the copy recorded at the last generate or start when the file is being edited.
import { readSchema } from '../effects/schema-file.js';
import { readRecordedSchema, RECORDED_SCHEMA } from '../effects/state.js';
import { schemaDigest, validatedBefore } from '../effects/known-schema.js';
import { readKnownSchema, writeKnownSchema } from '../effects/validation-cache.js';
import { CHECKS_ID } from '../schema/generated/checks-id.js';
import { projectRoot, type LoadedStack } from '../model/stack.js';
import type { Issue } from '../schema/issue.js';
import type { StackFile } from '../schema/types.js';
import { markColdRun } from '../cold-run.js';

export interface StackLoadOptions {
  /** An invalid schema gives way to the copy recorded at the last generate or start. */
  readonly orRecorded?: boolean;
}

export type StackLoad =
  | {
      readonly ok: true;
      readonly stack: LoadedStack;
      /** Set when the file is invalid and the recorded copy is used instead: its error count. */
      readonly recordedInsteadOf?: { readonly displayPath: string; readonly errors: number };
    }
  | { readonly ok: false; readonly displayPath: string; readonly errors: readonly Issue[] };

export async function readStack(
  schemaFlag: string | undefined,
  io: { readonly cwd: string; readonly env: NodeJS.ProcessEnv },
  options: StackLoadOptions = {},
): Promise<StackLoad> {
  const { cwd, env } = io;
  const source = await readSchema(schemaFlag, cwd);
  const root = projectRoot(source.path);
  const loaded = (file: StackFile, schemaText = source.text): LoadedStack => ({
    file,
    schemaPath: source.path,
    schemaText,
    root,
  });
  // Bytes a generate or start of a build with these same rules validated: their recorded data is
  // read, neither parsed nor checked again (validation is a pure function of the two).
  const digest = schemaDigest(source.text);
  const known = (await validatedBefore(root, source.text)) ?? (await readKnownSchema(env, digest, CHECKS_ID));
  if (known) return { ok: true, stack: loaded(known) };
  // Loaded only when needed: the rules and their libraries are much of what a start would load.
  const { validateStackText } = await import('../schema/validate.js');
  markColdRun();
  const result = await validateStackText(source.text, { fileName: source.displayPath });
  if (result.valid && result.file) {
    await writeKnownSchema(env, digest, CHECKS_ID, result.file);
    return { ok: true, stack: loaded(result.file) };
  }
  const errors = result.issues.filter((issue) => issue.severity === 'error');
  if (options.orRecorded === true) {
    const text = await readRecordedSchema(root);
    const recorded =
      text === undefined ? undefined : await validateStackText(text, { fileName: RECORDED_SCHEMA });
    if (text !== undefined && recorded?.valid === true && recorded.file)
      return {
        ok: true,
        stack: loaded(recorded.file, text),
        recordedInsteadOf: { displayPath: source.displayPath, errors: errors.length },
      };
  }
  return { ok: false, displayPath: source.displayPath, errors };
}

/**
 * The stack file as far as it parses, never failing (asked at every Tab of a shell completion):
 * an empty object when it cannot be found or read.
 */
export async function readStackLoosely(
  schemaFlag: string | undefined,
  io: { readonly cwd: string; readonly env: NodeJS.ProcessEnv },
): Promise<Partial<StackFile>> {
  const source = await readSchema(schemaFlag, io.cwd).catch(() => undefined);
  if (!source) return {};
  const known = await readKnownSchema(io.env, schemaDigest(source.text), CHECKS_ID);
  if (known) return known;
  const { parseLoosely } = await import('../schema/source.js');
  const data = parseLoosely(source.text);
  return data !== null && typeof data === 'object' ? data : {};
}
