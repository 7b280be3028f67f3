import { StackctlError } from '../errors.js';
import { readStack } from '../lifecycle/stack-loading.js';
import type { LoadedStack } from '../model/stack.js';
import { printLine, type CommandContext } from './context.js';

export type { LoadedStack } from '../model/stack.js';
export { requireEnvironment } from '../model/stack.js';

/**
 * Reads and validates the stack file; an invalid file stops the command with its issues (exit 2).
 * With orRecorded, for commands that act on what runs (status, stop, logs, a wipe preview, secrets
 * status): a user in the middle of editing the schema must still be able to see and stop the stack,
 * so an invalid schema gives way, with a warning, to the copy recorded at the last generate or start.
 */
export async function loadStack(
  schemaFlag: string | undefined,
  ctx: CommandContext,
  options: { orRecorded?: boolean } = {},
): Promise<LoadedStack> {
  const load = await readStack(schemaFlag, ctx, options);
  if (load.ok) {
    const instead = load.recordedInsteadOf;
    if (instead)
      printLine(
        ctx.stderr,
        ctx.colors.yellow(
          `⚠ ${instead.displayPath} has ${instead.errors} error${instead.errors === 1 ? '' : 's'} (stackctl validate); using the schema as it was at the last generate or start`,
        ),
      );
    return load.stack;
  }
  const { formatIssue } = await import('./actions/validate.js');
  for (const issue of load.errors.slice(0, 10)) printLine(ctx.stderr, formatIssue(issue, ctx.colors));
  throw new StackctlError('E_SCHEMA', `${load.displayPath} is not valid (${load.errors.length} errors)`, {
    hint: `run: stackctl validate${schemaFlag === undefined ? '' : ` --schema ${schemaFlag}`}`,
  });
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
