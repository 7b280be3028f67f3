import { StackctlError } from '../errors.js';
import { displayPathOf, projectRoot, readSchema, type LoadedStack } from '../effects/schema-file.js';
import { readRecordedSchema, RECORDED_SCHEMA } from '../effects/state.js';
import type { EnvironmentDef, StackFile } from '../schema/types.js';
import { parseFast } from '../schema/parse-fast.js';
import { validatedBefore } from '../effects/known-schema.js';
import { didYouMean } from '../schema/suggest.js';
import { printLine, type CommandContext } from './context.js';

export type { LoadedStack } from '../effects/schema-file.js';

/**
 * Reads and validates the stack file; an invalid file stops the command with its issues (exit 2).
 * With orRecorded, for commands that act on what runs (status, stop, logs, a wipe preview, secrets
 * status): a user in the middle of editing the schema must still be able to see and stop the stack,
 * so an invalid schema gives way, with a warning, to the copy recorded at the last generate or start.
 */
export async function loadStack(
  schemaFlag: string | undefined,
  ctx: CommandContext,
  options: { orRecorded?: boolean; trustValidatedBefore?: boolean } = {},
): Promise<LoadedStack> {
  const source = await readSchema(schemaFlag, ctx.cwd);
  const root = projectRoot(source.path);
  // The schema a generate or start of this same build validated, byte for byte: read, not re-checked.
  if (options.trustValidatedBefore === true && (await validatedBefore(root, source.text))) {
    const fast = parseFast(source.text);
    if (fast.ok)
      return { file: fast.data as StackFile, schemaPath: source.path, schemaText: source.text, root };
  }
  // Loaded only when needed: the rules and their libraries are much of what a start would load.
  const { validateStackText } = await import('../schema/validate.js');
  const result = await validateStackText(source.text, { fileName: source.displayPath });
  if (!result.valid || !result.file) {
    const errors = result.issues.filter((issue) => issue.severity === 'error');
    const recorded =
      options.orRecorded === true ? await loadRecorded(source.path, errors.length, ctx) : undefined;
    if (recorded) return recorded;
    const { formatIssue } = await import('./actions/validate.js');
    for (const issue of errors.slice(0, 10)) printLine(ctx.stderr, formatIssue(issue, ctx.colors));
    throw new StackctlError('E_SCHEMA', `${source.displayPath} is not valid (${errors.length} errors)`, {
      hint: `run: stackctl validate${schemaFlag === undefined ? '' : ` --schema ${schemaFlag}`}`,
    });
  }
  return {
    file: result.file,
    schemaPath: source.path,
    schemaText: source.text,
    root,
  };
}

async function loadRecorded(
  schemaPath: string,
  errors: number,
  ctx: CommandContext,
): Promise<LoadedStack | undefined> {
  const root = projectRoot(schemaPath);
  const text = await readRecordedSchema(root);
  if (text === undefined) return undefined;
  const { validateStackText } = await import('../schema/validate.js');
  const recorded = await validateStackText(text, { fileName: RECORDED_SCHEMA });
  if (!recorded.valid || !recorded.file) return undefined;
  printLine(
    ctx.stderr,
    ctx.colors.yellow(
      `⚠ ${displayPathOf(schemaPath, ctx.cwd)} has ${errors} error${errors === 1 ? '' : 's'} (stackctl validate); using the schema as it was at the last generate or start`,
    ),
  );
  return { file: recorded.file, schemaPath, schemaText: text, root };
}

export function requireEnvironment(file: StackFile, name: string): EnvironmentDef {
  const env = Object.hasOwn(file.environments, name) ? file.environments[name] : undefined;
  if (!env) {
    throw new StackctlError('E_USAGE', `unknown environment "${name}"`, {
      hint: didYouMean(name, Object.keys(file.environments)),
    });
  }
  return env;
}

/** The error for a command run without an environment: one line naming the environments there are. */
export async function whichEnvironment(
  schemaFlag: string | undefined,
  ctx: CommandContext,
  command: string,
): Promise<StackctlError> {
  const stack = await loadStack(schemaFlag, ctx, { orRecorded: true });
  const names = Object.keys(stack.file.environments);
  return new StackctlError('E_USAGE', `which environment? ${names.join(', ')}`, {
    hint: `e.g. stackctl ${command} ${names[0] ?? 'ENV'}`,
  });
}
